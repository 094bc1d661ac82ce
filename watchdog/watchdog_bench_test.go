package watchdog

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// BenchmarkIngest measures how many Samples per second one replica reads
// from a local redis-server, decodes, reduces and hands on (the flush
// script acknowledges them), with its leader loop running alongside. The
// stream is filled first, outside the timer, with b.N Samples of 1,000
// participants (a probe agent's worth) in 100 rooms.
//
//	go test -run '^$' -bench Ingest -benchtime 200000x ./watchdog
func BenchmarkIngest(b *testing.B) {
	bs := openBus(b, redisURL(b))
	ctx := context.Background()
	const participants = 1000
	window := time.Now().Truncate(time.Second).Add(-time.Hour)
	var batch []bus.Entry
	seq := uint64(0)
	for i := range b.N {
		if i%participants == 0 {
			seq++
			window = window.Add(time.Second)
		}
		p := i % participants
		s := sample.Sample{
			Probe: fmt.Sprintf("probe-%d", p%2), Location: []string{"yz", "jd"}[p%2], Session: "S-bench",
			Room: fmt.Sprintf("room-%d", p%100), Transport: sample.TransportWS, Participant: fmt.Sprintf("p-%d", p), Seq: seq,
			WindowStart: window, WindowMS: 1000, Connected: true, ConnectedMS: 1000,
			RTTCount: 1, RTTMedianMS: 1.4, RTTMaxMS: 2.1, LagCount: 1, LagMedianMS: 0.6, LagMaxMS: 0.9, Messages: 1, JitterMS: 0.2,
		}
		e, err := bus.NewEntry(s)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, e)
		if len(batch) == 5000 || i == b.N-1 {
			if _, err := bs.Publish(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	city := fastCity(b, "")
	w, err := New(Options{Config: city, Bus: bs, NoHealth: true, StartID: "0", Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	cpu0, rcpu0 := processCPU(), redisCPU(b, bs)
	b.ResetTimer()
	start := time.Now()
	go func() { defer close(done); _ = w.Run(runCtx) }()
	processed := func() float64 {
		var m dto.Metric
		_ = w.m.processed.Write(&m)
		return m.GetCounter().GetValue()
	}
	for processed() < float64(b.N) {
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	b.StopTimer()
	cpu, rcpu := processCPU()-cpu0, redisCPU(b, bs)-rcpu0
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/took.Seconds(), "samples/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "wd-cpu-µs/sample")
	b.ReportMetric(float64(rcpu.Microseconds())/float64(b.N), "redis-cpu-µs/sample")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time the redis-server has used, from INFO cpu.
func redisCPU(b *testing.B, bs *bus.Bus) time.Duration {
	info, err := bs.Client().Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			x, _ := strconv.ParseFloat(v, 64)
			total += x
		}
	}
	return time.Duration(total * float64(time.Second))
}

// BenchmarkFaultToIncident measures, over real WebSocket participants
// against the synthetic hall (two probes at two locations, two participants
// each, in one room), the time from a fault to its incident: a dropout (the
// hall drops every connection) and a latency rise (400 ms on every frame).
// Each iteration is one fault; run with -benchtime 20x. The participants'
// window is 1 s (the default) or 250 ms: a dropout can only be reported when
// the window it happened in ends.
//
//	go test -run '^$' -bench FaultToIncident -benchtime 20x ./watchdog
func BenchmarkFaultToIncident(b *testing.B) {
	for _, tc := range []struct {
		name  string
		fault hall.Fault
	}{
		{"dropout", hall.Fault{Drop: true}},
		{"latency", hall.Fault{LatencyMS: 400}},
	} {
		for _, window := range []time.Duration{time.Second, 250 * time.Millisecond} {
			b.Run(fmt.Sprintf("%s/window=%s", tc.name, window), func(b *testing.B) {
				faultToIncident(b, tc.fault, window)
			})
		}
	}
}

func faultToIncident(b *testing.B, fault hall.Fault, window time.Duration) {
	city, h := e2eCity(b)
	city.Probe.Window = window
	city.Probe.PingInterval = min(window, 250*time.Millisecond)
	city.Watchdog.Incidents.ReopenWithin = 0 // every fault a new incident
	city.Watchdog.Detect.Dropout.ClearAfter = time.Second
	city.Watchdog.Detect.Latency.ClearAfter = time.Second
	bs := openBus(b, redisURL(b))
	w := startWatchdog(b, Options{Config: city, Bus: bs, NoHealth: true})
	const room = "by-hall-1"
	startProbe(b, bs, city, "yz-probe", "yz", "", []string{room}, 2)
	startProbe(b, bs, city, "jd-probe", "jd", "", []string{room}, 2)
	time.Sleep(3 * time.Second)
	ctx := context.Background()
	var took []time.Duration
	for i := range b.N {
		// Start each fault at a random point of the window.
		time.Sleep(time.Duration(i*7919%1000) * time.Millisecond * window / time.Second)
		at := time.Now()
		if err := h.Room(room).SetFault(fault); err != nil {
			b.Fatal(err)
		}
		var inc incident.Incident
		waitFor(b, 15*time.Second, "the incident", func() bool {
			act, err := w.Store().Active(ctx)
			if err != nil || len(act) == 0 {
				return false
			}
			inc = act[0]
			return true
		})
		took = append(took, inc.OpenedAt.Sub(at))
		h.Room(room).ClearFault()
		waitFor(b, 30*time.Second, "the incident resolved", func() bool {
			got, err := w.Store().Get(ctx, inc.ID)
			return err == nil && got.State == incident.StateResolved
		})
	}
	b.StopTimer()
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	pct := func(p float64) time.Duration { return took[min(len(took)-1, int(p*float64(len(took))))] }
	b.ReportMetric(float64(pct(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(pct(0.95).Milliseconds()), "p95-ms")
	b.ReportMetric(float64(slices.Max(took).Milliseconds()), "max-ms")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
}
