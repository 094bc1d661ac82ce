package report

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// genReader makes a city's roll-ups as it is read, as a Redis reader
// decodes them: per room, 3 probe locations × 2 transports for the 10 hours
// of sessions a day (08–18 in Shanghai) and one patrol Dim the other 14
// hours; four sessions a room a day; per server, four readings an hour.
type genReader struct {
	rooms, servers []string
	base           [4]rollup.Stats // a few shapes of hour, picked by hash
}

func newGenReader(rooms, servers int) *genReader {
	g := &genReader{}
	for i := range rooms {
		g.rooms = append(g.rooms, fmt.Sprintf("room-%02d", i))
	}
	for i := range servers {
		g.servers = append(g.servers, fmt.Sprintf("srv-%02d", i))
	}
	th := rollup.Thresholds{DegradedRTT: 300 * time.Millisecond}
	for k := range g.base {
		st := &g.base[k]
		for s := range 3600 {
			smp := &sample.Sample{Room: "r", WindowStart: time.Unix(int64(s), 0), WindowMS: 1000, Connected: true, ConnectedMS: 1000,
				RTTCount: 1, RTTMedianMS: float64(40 + (s*7+k*13)%200)}
			if k == 3 && s%97 == 0 {
				smp.ConnectedMS, smp.RTTCount = 0, 0
			}
			if k == 2 && s%53 == 0 {
				smp.FreezeCount, smp.FreezeMS = 1, 400
			}
			st.Add(smp, th)
		}
	}
	return g
}

var dims = func() []rollup.Dim {
	var out []rollup.Dim
	for _, loc := range []string{"zx", "gy", "by"} {
		for _, tr := range []sample.Transport{"ws", "webrtc"} {
			out = append(out, rollup.Dim{Location: loc, Transport: tr})
		}
	}
	return out
}()

func (g *genReader) Hourly(ctx context.Context, from, to time.Time, fn func(rollup.Row) error) error {
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		local := h.In(shanghai).Hour()
		for ri, room := range g.rooms {
			n := 1
			if local >= 8 && local < 18 {
				n = len(dims)
			}
			for d := range n {
				dim := dims[d]
				dim.Room = room
				st := g.base[(ri+d+int(h.Unix()/3600))%len(g.base)]
				if n == 1 {
					st.SessionMS, st.PatrolMS = 0, st.ObservedMS
				}
				if err := fn(rollup.Row{Dim: dim, Start: h, Span: time.Hour, Stats: st}); err != nil {
					return err
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (g *genReader) Daily(context.Context, *time.Location, time.Time, time.Time, func(rollup.Row) error) error {
	return nil
}

func (g *genReader) Sessions(ctx context.Context, from, to time.Time, fn func(rollup.SessionRow) error) error {
	for day := from; day.Before(to); day = day.Add(24 * time.Hour) {
		for ri, room := range g.rooms {
			for s := range 4 {
				id := fmt.Sprintf("%s-%s-%d", room, day.Format("20060102"), s)
				for d, dim := range dims {
					dim.Room = room
					st := g.base[(ri+d+s)%len(g.base)]
					st.FirstMS = day.Add(time.Duration(9+2*s) * time.Hour).UnixMilli()
					st.LastMS = st.FirstMS + 3_600_000
					if err := fn(rollup.SessionRow{Session: id, Dim: dim, Stats: st}); err != nil {
						return err
					}
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (g *genReader) Health(ctx context.Context, from, to time.Time, fn func(rollup.HealthRow) error) error {
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		for si, srv := range g.servers {
			for mi, m := range []string{"", "cpu_pct", "db_conns_pct", "disk_pct"} {
				v := float64(30 + (si*7+mi*11+int(h.Unix()/3600))%60)
				row := rollup.HealthRow{Server: srv, Check: "prometheus[0]", Metric: m, Start: h, N: 240, Sum: 240 * v, Min: v - 5, Max: v + 5}
				if m == "" {
					row.Checks, row.Failed = 240, int64(si%2)
				}
				if err := fn(row); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// benchCity is a 50-room city: 10 sub-centers of 5 rooms, 20 servers.
func benchCity(g *genReader) *config.Config {
	c := &config.Config{City: config.City{ID: "city", Name: "某市"}, Watchdog: config.DefaultWatchdog(), Reports: config.DefaultReports()}
	for i := range 10 {
		c.SubCenters = append(c.SubCenters, config.SubCenter{ID: fmt.Sprintf("sc-%d", i), Name: fmt.Sprintf("第%d分中心", i)})
	}
	for i, s := range g.servers {
		c.Servers = append(c.Servers, config.Server{ID: s, Name: s, Role: config.RoleMedia, SubCenter: fmt.Sprintf("sc-%d", i%10)})
	}
	for i, r := range g.rooms {
		c.Rooms = append(c.Rooms, config.Room{ID: r, Name: fmt.Sprintf("开标%d厅", i), SubCenter: fmt.Sprintf("sc-%d", i/5),
			Servers: []string{g.servers[i%len(g.servers)]}})
	}
	return c
}

// BenchmarkYearReport builds a 50-room city's year report (and the
// previous year's headline) from roll-ups and writes its HTML: time, bytes
// allocated, and the heap's peak while it runs.
func BenchmarkYearReport(b *testing.B) {
	g := newGenReader(50, 20)
	src := Sources{Config: benchCity(g), Rollups: g, Incidents: incidents(nil)}
	p, _ := ParsePeriod(KindYear, time.Date(2026, 6, 1, 0, 0, 0, 0, shanghai), shanghai)
	req := Request{Period: p, Now: time.Date(2027, 1, 2, 0, 0, 0, 0, shanghai)}
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	})
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		rep, err := Build(context.Background(), src, req)
		if err != nil {
			b.Fatal(err)
		}
		if err := rep.WriteHTML(io.Discard); err != nil {
			b.Fatal(err)
		}
		if rep.Sessions.Total != 50*4*365 || len(rep.Series) != 365 {
			b.Fatalf("%d sessions, %d days", rep.Sessions.Total, len(rep.Series))
		}
	}
	cpu := cpuTime() - cpu0
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	// CPU time (user + system, all threads, GC included) per report: on a
	// shared machine the wall time above also holds others' load.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the process's CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkYearRollupsRead is the baseline: reading the same roll-ups (a
// year and the previous one) with nothing done with them, so the report's
// own cost is BenchmarkYearReport's less this.
func BenchmarkYearRollupsRead(b *testing.B) {
	g := newGenReader(50, 20)
	p, _ := ParsePeriod(KindYear, time.Date(2026, 6, 1, 0, 0, 0, 0, shanghai), shanghai)
	ctx := context.Background()
	var n int
	for b.Loop() {
		for _, q := range []Period{p, p.Prev()} {
			_ = g.Hourly(ctx, q.Start, q.End, func(rollup.Row) error { n++; return nil })
			_ = g.Sessions(ctx, q.Start, q.End, func(rollup.SessionRow) error { n++; return nil })
		}
		_ = g.Health(ctx, p.Start, p.End, func(rollup.HealthRow) error { n++; return nil })
	}
	b.ReportMetric(float64(n)/float64(b.N), "rows/op")
}
