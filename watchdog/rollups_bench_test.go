package watchdog

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/sample"
)

// BenchmarkIngestRollups is BenchmarkIngest with the roll-ups and the raw
// archive off and on, side by side on the same machine: what rolling up
// costs a replica and its Redis. 1,000 participants in 100 rooms, seen from
// two locations, in a session.
//
//	go test -run '^$' -bench IngestRollups -benchtime 200000x ./watchdog
func BenchmarkIngestRollups(b *testing.B) {
	for _, c := range []struct {
		name string
		off  bool
	}{{"off", true}, {"on", false}} {
		b.Run(c.name, func(b *testing.B) { ingestBench(b, c.off) })
	}
}

func ingestBench(b *testing.B, noRollups bool) {
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
			Probe: fmt.Sprintf("probe-%d", p%2), Location: []string{"yz", "jd"}[(p/100)%2], Session: "S-bench",
			Room: fmt.Sprintf("room-%d", p%100), Transport: sample.TransportWS, Participant: fmt.Sprintf("p-%d", p), Seq: seq,
			WindowStart: window, WindowMS: 1000, Connected: true, ConnectedMS: 1000,
			RTTCount: 1, RTTMedianMS: 1.4 + float64(p%7), RTTMaxMS: 9.1, LagCount: 1, LagMedianMS: 0.6, LagMaxMS: 0.9, Messages: 1, JitterMS: 0.2,
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
	w, err := New(Options{Config: city, Bus: bs, NoHealth: true, NoRollups: noRollups, StartID: "0", Logger: testLogger(b)})
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
	deadline := time.Now().Add(10 * time.Minute)
	for processed() < float64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("processed %v of %d in 10 minutes", processed(), b.N)
		}
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
