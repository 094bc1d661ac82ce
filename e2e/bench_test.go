package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-redis/redis_rate/v10"
	"golang.org/x/crypto/bcrypt"

	"github.com/bidwatch/bidwatch/console"
	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/console/web"
	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// The browser benchmarks measure what the console's overview costs the
// browser that shows it: BenchmarkSparklines compares the chart libraries
// on the overview's 150 sparklines alone, BenchmarkOverviewCPU runs the
// real page on a city of 50 rooms. Each reports, over its measured wall
// time, the page's main-thread CPU (cpu-ms/s: Performance.getMetrics
// TaskDuration in thread time, per wall second), the JavaScript part of it
// (script-ms/s), the CPU of all of Chromium's processes (all-cpu-ms/s:
// SystemInfo.getProcessInfo, which adds the compositor, raster and GPU
// processes) and the JavaScript heap in use after a garbage collection
// (heap-MB). Run them with -benchtime 1x: one run is a fixed stretch of wall
// time.

const (
	// benchTiles is the overview's size the issue asks for: 50 live tiles.
	benchTiles = 50
	// sparkMeasure and sparkWarm are one BenchmarkSparklines run.
	sparkWarm    = 3 * time.Second
	sparkMeasure = 20 * time.Second
	// overviewMeasure and overviewWarm are one BenchmarkOverviewCPU run.
	overviewWarm    = 5 * time.Second
	overviewMeasure = 30 * time.Second
	// echartsVersion is the ECharts that BenchmarkSparklines measures,
	// fetched with npm into the user's cache (never vendored).
	echartsVersion = "6.1.0"
)

// BenchmarkSparklines draws the overview's sparklines — 50 tiles × 3
// charts of 120 points, each taking a new point once a second — with uPlot
// (the console's, vendored) and with Apache ECharts, in headless Chromium,
// on a static page (testdata/sparklines) served on loopback.
func BenchmarkSparklines(b *testing.B) {
	for _, lib := range []struct{ name, param string }{{"uPlot", "uplot"}, {"ECharts", "echarts"}} {
		b.Run(lib.name, func(b *testing.B) {
			echarts := ""
			if lib.param == "echarts" {
				echarts = echartsFile(b)
			}
			srv := httptest.NewServer(sparklineFiles(b, echarts))
			b.Cleanup(srv.Close)
			browser := benchBrowser(b)
			var total usage
			for range b.N {
				page := benchPage(b, browser)
				benchDo(b, page, 30*time.Second, "open the sparklines page",
					chromedp.Navigate(fmt.Sprintf("%s/?lib=%s&tiles=%d", srv.URL, lib.param, benchTiles)))
				if !benchPoll(b, page, 30*time.Second, `window.bench && (window.bench.error !== '' || (window.bench.ready && window.bench.updates >= 2))`) {
					b.Fatalf("the %s sparklines are not drawn and updating within 30 s: window.bench = %s", lib.name,
						benchEval[string](b, page, `JSON.stringify(window.bench || null)`))
				}
				if e := benchEval[string](b, page, `window.bench.error`); e != "" {
					b.Fatalf("the sparklines page failed: %s", e)
				}
				charts := benchEval[int](b, page, `window.bench.charts`)
				canvases := benchEval[int](b, page, `document.querySelectorAll('.spark-box canvas').length`)
				if charts != 3*benchTiles || canvases < 3*benchTiles {
					b.Fatalf("the page has %d charts and %d canvases, want %d of each", charts, canvases, 3*benchTiles)
				}
				before := benchEval[int](b, page, `window.bench.updates`)
				u := measure(b, page, sparkWarm, sparkMeasure)
				updates := benchEval[int](b, page, `window.bench.updates`) - before
				if want := int(sparkMeasure/time.Second) - 3; updates < want {
					b.Fatalf("only %d updates in %s of measuring (want one a second): the page's timer was throttled?", updates, sparkWarm+sparkMeasure)
				}
				b.Logf("%s: %d charts, %d updates; %s", lib.name, charts, updates, u)
				total.add(u)
			}
			total.report(b)
		})
	}
}

// BenchmarkOverviewCPU runs the real console on a city of 50 rooms whose
// samples arrive once a second per room from two probe locations, signs a
// headless Chromium in and keeps the overview open, measuring what the
// page costs the browser. healthy: every room is up (the odd gap in the
// events turns a tile amber for a few seconds); one-down: one room has lost
// its participant at one location throughout, so its tile stays red, as
// during an outage (the page draws a down tile pulsing).
func BenchmarkOverviewCPU(b *testing.B) {
	b.Run("healthy", func(b *testing.B) { overviewCPU(b, 0) })
	b.Run("one-down", func(b *testing.B) { overviewCPU(b, 1) })
}

// overviewCPU is one case of BenchmarkOverviewCPU: down rooms are down.
func overviewCPU(b *testing.B, down int) {
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("E2E_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := benchCity(benchTiles)
	rdb := bustest.StartRedis(b)
	bs, err := bus.Open(context.Background(), bus.Options{URL: rdb.URL(), Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bs.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() {
		cancel()
		wg.Wait()
	})

	au := auth.NewStore(bs.Client(), bs.Prefix())
	au.BcryptCost = bcrypt.MinCost
	au.LoginRate = redis_rate.PerMinute(100)
	if _, err := au.AddUser(ctx, "screen", "大屏", auth.RoleViewer, password); err != nil {
		b.Fatal(err)
	}

	// The last two minutes of samples first, so the sparklines are full
	// from the start, as on a console that has been running; then one
	// second of samples every second.
	f := newFeeder(bs, cfg.Rooms, []string{"yz", "gy"})
	f.down = down
	now := time.Now().Truncate(time.Second)
	for t := now.Add(-120 * time.Second); !t.After(now); t = t.Add(time.Second) {
		if err := f.publish(ctx, t); err != nil {
			b.Fatalf("publish the backlog: %v", err)
		}
	}
	wg.Go(func() { f.run(ctx, now) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s, err := console.New(console.Options{
		City: cfg, Bus: bs, Incidents: incident.NewRedisStore(bs.Client(), bs.Prefix(), cfg.Watchdog.Incidents),
		Auth: au, Logger: logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	wg.Go(func() { _ = s.Serve(ctx, ln) })
	base := "http://" + ln.Addr().String()

	browser := benchBrowser(b)
	var total usage
	for range b.N {
		page := benchPage(b, browser)
		benchDo(b, page, 30*time.Second, "sign in as screen",
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(testid("login-name")),
			chromedp.SendKeys(testid("login-name"), "screen"),
			chromedp.SendKeys(testid("login-password"), password),
			chromedp.Click(testid("login-submit")),
		)
		// The pointer off the tiles, onto the header's empty middle: a
		// wall screen has no mouse hovering over a tile.
		if err := cdpCall(page, "Input.dispatchMouseEvent", map[string]any{"type": "mouseMoved", "x": 960, "y": 12}, nil); err != nil {
			b.Fatalf("move the mouse away: %v", err)
		}
		const (
			countTiles = `document.querySelectorAll('[data-testid="tile"]').length`
			countSpark = `document.querySelectorAll('[data-testid="tile"] canvas').length`
		)
		if !benchPoll(b, page, 30*time.Second, fmt.Sprintf(`%s >= %d && %s >= %d`, countTiles, benchTiles, countSpark, 3*benchTiles)) {
			b.Fatalf("the overview shows %d tiles with %d sparkline canvases after 30 s, want %d tiles with %d (at %s)",
				benchEval[int](b, page, countTiles), benchEval[int](b, page, countSpark), benchTiles, 3*benchTiles,
				benchEval[string](b, page, `location.pathname`))
		}
		const countDown = `document.querySelectorAll('[data-testid="tile"][data-state="down"]').length`
		if !benchPoll(b, page, 10*time.Second, fmt.Sprintf(`%s === %d`, countDown, down)) {
			b.Fatalf("the overview shows %d tiles down, want %d", benchEval[int](b, page, countDown), down)
		}
		size := benchEval[string](b, page, `(() => { const c = document.querySelector('[data-testid="tile"] canvas'); return c ? c.clientWidth + 'x' + c.clientHeight : ''; })()`)
		u := measure(b, page, overviewWarm, overviewMeasure)
		if n := benchEval[int](b, page, countSpark); n < 3*benchTiles {
			b.Fatalf("the overview lost its sparklines while measured: %d canvases, want %d", n, 3*benchTiles)
		}
		states := benchEval[string](b, page, `(() => { const n = {}; for (const t of document.querySelectorAll('[data-testid="tile"]')) n[t.dataset.state] = (n[t.dataset.state] || 0) + 1; return JSON.stringify(n); })()`)
		b.Logf("overview: %d tiles %s, sparkline %s px; %s", benchEval[int](b, page, countTiles), states, size, u)
		total.add(u)
	}
	total.report(b)
}

// benchCity is the demo city with n rooms: its rooms cloned, in turn, with
// new ids, so they spread over its sub-centers as the demo's do.
func benchCity(n int) *config.Config {
	cfg := config.DemoCity()
	demo := cfg.Rooms
	cfg.Rooms = make([]config.Room, 0, n)
	for i := range n {
		r := demo[i%len(demo)]
		r.Servers = append([]string(nil), r.Servers...)
		k := i/len(demo) + 1
		r.ID = fmt.Sprintf("%s-%d", r.ID, k)
		r.Name = fmt.Sprintf("%s %d", r.Name, k)
		cfg.Rooms = append(cfg.Rooms, r)
	}
	return cfg
}

// feeder publishes what two probe agents watching every room over
// WebSocket would: one sample a second per room and location.
type feeder struct {
	bus   *bus.Bus
	rooms []config.Room
	locs  []string
	rng   *rand.Rand
	seq   uint64
	base  map[string]float64 // room → its usual round trip, ms
	// down is how many rooms, the first ones, have lost their participant
	// at the first location.
	down int
}

func newFeeder(b *bus.Bus, rooms []config.Room, locs []string) *feeder {
	f := &feeder{bus: b, rooms: rooms, locs: locs, rng: rand.New(rand.NewPCG(7, 11)), base: map[string]float64{}}
	for _, r := range rooms {
		f.base[r.ID] = 25 + 40*f.rng.Float64()
	}
	return f
}

// publish puts the second ending at end into the samples stream: round
// trips around each room's own with noise and the odd spike, now and then
// a gap in the events; the down rooms disconnected at the first location.
func (f *feeder) publish(ctx context.Context, end time.Time) error {
	f.seq++
	entries := make([]bus.Entry, 0, len(f.rooms)*len(f.locs))
	for i, r := range f.rooms {
		for j, loc := range f.locs {
			rtt := f.base[r.ID] + 8*(f.rng.Float64()-0.5)
			if loc == "gy" {
				rtt += 6
			}
			if f.rng.Float64() < 0.02 {
				rtt += 120 * f.rng.Float64()
			}
			s := sample.Sample{
				Probe: loc + "@bench", Location: loc, Room: r.ID, Transport: sample.TransportWS,
				Participant: r.ID + "/ws-1", Seq: f.seq,
				WindowStart: end.Add(-time.Second), WindowMS: 1000,
				Connected: true, ConnectedMS: 1000,
				RTTCount: 4, RTTMedianMS: math.Round(rtt*10) / 10, RTTMaxMS: math.Round(rtt*11) / 10,
				LagCount: 10, LagMedianMS: math.Round((rtt+4)*10) / 10, LagMaxMS: math.Round((rtt+12)*10) / 10,
				Messages: 10,
			}
			if f.rng.Float64() < 0.01 {
				s.FreezeCount, s.FreezeMS = 1, math.Round(100+400*f.rng.Float64())
				s.LargestGapMS = s.FreezeMS
			}
			if i < f.down && j == 0 {
				s = sample.Sample{
					Probe: s.Probe, Location: loc, Room: r.ID, Transport: sample.TransportWS,
					Participant: s.Participant, Seq: f.seq, WindowStart: s.WindowStart, WindowMS: 1000,
					Reconnects: 1, OutageMS: 1000, Error: "dial: connection refused",
				}
			}
			e, err := bus.NewEntry(s)
			if err != nil {
				return err
			}
			entries = append(entries, e)
		}
	}
	_, err := f.bus.Publish(ctx, entries)
	return err
}

// run publishes one second of samples at every second after last, until
// ctx ends.
func (f *feeder) run(ctx context.Context, last time.Time) {
	for {
		next := last.Add(time.Second)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		pctx, cancel := context.WithTimeout(ctx, 900*time.Millisecond)
		_ = f.publish(pctx, next) // a lost second shows as a gap, as it would
		cancel()
		last = next
	}
}

// sparklineFiles serves the sparklines page: testdata/sparklines at "/",
// the console's vendored uPlot at /vendor/uplot/, and, when echarts is
// set, that file at /vendor/echarts/echarts.min.js.
func sparklineFiles(b testing.TB, echarts string) http.Handler {
	uplot, err := fs.Sub(web.Static(), "vendor/uplot")
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(os.DirFS(filepath.Join("testdata", "sparklines"))))
	mux.Handle("/vendor/uplot/", http.StripPrefix("/vendor/uplot/", http.FileServerFS(uplot)))
	if echarts != "" {
		mux.HandleFunc("/vendor/echarts/echarts.min.js", func(w http.ResponseWriter, r *http.Request) {
			http.ServeFile(w, r, echarts)
		})
	}
	return mux
}

// echartsFile is ECharts' echarts.min.js, kept in the user's cache
// ($XDG_CACHE_HOME or ~/.cache, bidwatch-bench/echarts-VERSION/) and
// fetched there with npm pack the first time. Without npm or the npm
// registry the benchmark is skipped: ECharts is never part of bidwatch.
func echartsFile(b *testing.B) string {
	b.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		b.Skipf("ECharts: no cache directory to keep it in: %v", err)
	}
	dir := filepath.Join(cache, "bidwatch-bench", "echarts-"+echartsVersion)
	file := filepath.Join(dir, "echarts.min.js")
	if fi, err := os.Stat(file); err == nil && fi.Size() > 0 {
		return file
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		b.Skipf("ECharts %s is not in %s and there is no npm to fetch it with (npm pack echarts@%s): %v", echartsVersion, dir, echartsVersion, err)
	}
	tmp := b.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "pack", "echarts@"+echartsVersion, "--pack-destination", tmp)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Skipf("ECharts %s is not in %s and npm pack echarts@%s failed (no npm registry?): %v\n%s", echartsVersion, dir, echartsVersion, err, out)
	}
	tgzs, _ := filepath.Glob(filepath.Join(tmp, "echarts-*.tgz"))
	if len(tgzs) != 1 {
		b.Fatalf("npm pack echarts@%s left %v in %s, want one echarts-*.tgz", echartsVersion, tgzs, tmp)
	}
	js, err := fromTarball(tgzs[0], "package/dist/echarts.min.js")
	if err != nil {
		b.Fatalf("ECharts: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	part := fmt.Sprintf("%s.%d.part", file, os.Getpid())
	if err := os.WriteFile(part, js, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(part, file); err != nil {
		b.Fatal(err)
	}
	b.Logf("ECharts %s fetched with npm into %s", echartsVersion, file)
	return file
}

// fromTarball reads one file out of a .tgz.
func fromTarball(tgz, name string) ([]byte, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tgz, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s has no %s", tgz, name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tgz, err)
		}
		if h.Name == name {
			return io.ReadAll(io.LimitReader(tr, 64<<20))
		}
	}
}

// benchBrowser starts a headless Chromium with newBrowser's flags (a big
// screen's window), stopped when the benchmark ends.
func benchBrowser(b *testing.B) context.Context {
	b.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		b.Fatal("no chromium: install it (apt-get install chromium fonts-wqy-microhei), or run make test, which does")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.DisableGPU,
		chromedp.NoSandbox,
		chromedp.WindowSize(1920, 1080),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(b.TempDir()),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		b.Fatalf("start chromium: %v", err)
	}
	b.Cleanup(func() {
		bcancel()
		acancel()
	})
	return bctx
}

// benchPage opens a tab in its own browser context. The tab opens here,
// on a context without a deadline: a tab lives as long as the context of
// the first action run on it, so a first action with a timeout would close
// it when done.
func benchPage(b *testing.B, browser context.Context) context.Context {
	b.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	b.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.Fatalf("open a tab: %v", err)
	}
	return ctx
}

func benchDo(b *testing.B, ctx context.Context, timeout time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.Fatalf("%s: %v", what, err)
	}
}

func benchEval[T any](b *testing.B, ctx context.Context, expr string) T {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// benchPoll reports whether expr became truthy within timeout.
func benchPoll(b *testing.B, ctx context.Context, timeout time.Duration, expr string) bool {
	b.Helper()
	pctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(pctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	return err == nil
}

// usage is what a page cost the browser over a stretch of wall time.
type usage struct {
	wall    time.Duration
	task    time.Duration // main-thread tasks (thread CPU time)
	script  time.Duration // of which JavaScript
	layout  time.Duration // of which layout and style
	procCPU time.Duration // all of Chromium's processes; 0 when unknown
	render  time.Duration // the page's renderer process
	heapMB  float64       // JS heap in use after a collection
	runs    int
}

func (u usage) perSecond(d time.Duration) float64 {
	if u.wall <= 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / u.wall.Seconds()
}

func (u usage) String() string {
	s := fmt.Sprintf("over %.1f s: main thread %.1f ms/s (script %.1f, layout+style %.1f, other %.1f), renderer process %.1f ms/s, heap %.1f MB",
		u.wall.Seconds(), u.perSecond(u.task), u.perSecond(u.script), u.perSecond(u.layout), u.perSecond(u.task-u.script-u.layout),
		u.perSecond(u.render), u.heapMB/float64(max(u.runs, 1)))
	if u.procCPU > 0 {
		s += fmt.Sprintf(", all of Chromium %.1f ms/s", u.perSecond(u.procCPU))
	}
	return s
}

func (u *usage) add(v usage) {
	u.wall += v.wall
	u.task += v.task
	u.script += v.script
	u.layout += v.layout
	u.procCPU += v.procCPU
	u.render += v.render
	u.heapMB += v.heapMB
	u.runs += max(v.runs, 1)
}

func (u usage) report(b *testing.B) {
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(u.perSecond(u.task), "cpu-ms/s")
	b.ReportMetric(u.perSecond(u.script), "script-ms/s")
	if u.procCPU > 0 {
		b.ReportMetric(u.perSecond(u.procCPU), "all-cpu-ms/s")
	}
	b.ReportMetric(u.heapMB/float64(max(u.runs, 1)), "heap-MB")
}

// measure lets the page run for warm, then measures it for period.
func measure(b *testing.B, page context.Context, warm, period time.Duration) usage {
	b.Helper()
	ctx, cancel := context.WithTimeout(page, warm+period+30*time.Second)
	defer cancel()
	// Durations in the thread's CPU time, not the wall time of the tasks
	// (which would count what other processes take of the cores).
	if err := cdpCall(ctx, "Performance.enable", map[string]string{"timeDomain": "threadTicks"}, nil); err != nil {
		b.Logf("Performance.enable in thread time: %v; measuring the wall time of tasks", err)
		if err := cdpCall(ctx, "Performance.enable", nil, nil); err != nil {
			b.Fatalf("Performance.enable: %v", err)
		}
	}
	if !sleepCtx(ctx, warm) {
		b.Fatal("the page closed while warming up")
	}
	m0, p0, t0 := perfMetrics(b, ctx), processCPU(ctx), time.Now()
	if !sleepCtx(ctx, period) {
		b.Fatal("the page closed while measured")
	}
	m1, p1, t1 := perfMetrics(b, ctx), processCPU(ctx), time.Now()
	if err := cdpCall(ctx, "HeapProfiler.collectGarbage", nil, nil); err != nil {
		b.Logf("HeapProfiler.collectGarbage: %v", err)
	}
	heap := perfMetrics(b, ctx)["JSHeapUsedSize"]
	sec := func(name string) time.Duration {
		return time.Duration((m1[name] - m0[name]) * float64(time.Second))
	}
	u := usage{
		wall:   t1.Sub(t0),
		task:   sec("TaskDuration"),
		script: sec("ScriptDuration"),
		layout: sec("LayoutDuration") + sec("RecalcStyleDuration"),
		render: sec("ProcessTime"),
		heapMB: heap / (1 << 20),
		runs:   1,
	}
	if p0 >= 0 && p1 > p0 {
		u.procCPU = time.Duration((p1 - p0) * float64(time.Second))
	}
	return u
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// cdpCall sends a DevTools command to the page of ctx. (By name, through
// chromedp's Target, so that the e2e tests need no cdproto import of
// their own.)
func cdpCall(ctx context.Context, method string, params, res any) error {
	_, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		return chromedp.Void{}, t.Call(ctx, method, params, res)
	})
	return err
}

// perfMetrics is the page's Performance.getMetrics by name: durations in
// seconds, sizes in bytes.
func perfMetrics(b *testing.B, ctx context.Context) map[string]float64 {
	b.Helper()
	var res struct {
		Metrics []struct {
			Name  string  `json:"name"`
			Value float64 `json:"value"`
		} `json:"metrics"`
	}
	if err := cdpCall(ctx, "Performance.getMetrics", nil, &res); err != nil {
		b.Fatalf("Performance.getMetrics: %v", err)
	}
	m := make(map[string]float64, len(res.Metrics))
	for _, x := range res.Metrics {
		m[x.Name] = x.Value
	}
	return m
}

// processCPU is the CPU time of all of the browser's processes so far, in
// seconds, or -1 when the browser does not say.
func processCPU(ctx context.Context) float64 {
	c := chromedp.FromContext(ctx)
	if c == nil || c.Browser == nil {
		return -1
	}
	var res struct {
		ProcessInfo []struct {
			Type    string  `json:"type"`
			ID      int     `json:"id"`
			CPUTime float64 `json:"cpuTime"`
		} `json:"processInfo"`
	}
	if err := c.Browser.Call(ctx, "SystemInfo.getProcessInfo", nil, &res); err != nil {
		return -1
	}
	sum := 0.0
	for _, p := range res.ProcessInfo {
		sum += p.CPUTime
	}
	if sum == 0 {
		return -1
	}
	return sum
}
