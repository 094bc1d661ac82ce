package dispatch

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
)

// percentile returns the p-th percentile (0 < p ≤ 1) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// BenchmarkFaultToAlert measures dispatch's part of a fault reaching the
// duty officer: an incident opened in the store (as the watchdog would) to
// the first message at a local webhook receiver, with the default
// group_wait (500 ms). Each iteration is one incident; run with
// -benchtime 20x. (The fault → incident part is measured in ./watchdog.)
//
//	go test -run '^$' -bench FaultToAlert -benchtime 20x ./watchdog/dispatch
func BenchmarkFaultToAlert(b *testing.B) {
	recv := newReceiver(b)
	c := city(b, map[string]string{"jd": recv.srv.URL})
	c.Dispatch.GroupWait = config.DefaultDispatch().GroupWait
	c.Dispatch.ReceiverRate = "1000/s"
	c.Dispatch.Channels[0].Rate = "1000/s"
	if err := c.Validate(); err != nil {
		b.Fatal(err)
	}
	r := newRig(b, c, Options{})
	r.start()
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		at := time.Now()
		inc := r.open(problem(vocab.CauseRoom, fmt.Sprintf("jd-room-%d", i), []string{"jd"}, []string{"jd-hall-1"}), at)
		var arrived time.Time
		waitFor(b, 10*time.Second, "the alert", func() bool {
			recv.mu.Lock()
			defer recv.mu.Unlock()
			for j, m := range recv.got {
				if len(m.Incidents) > 0 && m.Incidents[0].ID == inc.ID {
					arrived = recv.at[j]
					return true
				}
			}
			return false
		})
		took = append(took, arrived.Sub(at))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(percentile(took, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(took, 0.95).Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
}

// BenchmarkRateCheck measures one redis_rate Allow (the GCRA script the
// dispatcher runs per channel and per receiver) against a local
// redis-server. Target: p99 under 1 ms.
func BenchmarkRateCheck(b *testing.B) {
	c := city(b, map[string]string{"jd": "http://127.0.0.1:9/unused"})
	r := newRig(b, c, Options{})
	lim := redis_rate.NewLimiter(r.rdb)
	limit := redis_rate.Limit{Rate: 60, Burst: 60, Period: time.Minute}
	ctx := context.Background()
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if _, err := lim.Allow(ctx, fmt.Sprintf("bidwatch:dispatch:rate:ch:bench-%d", i%16), limit); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(percentile(took, 0.5).Nanoseconds())/1000, "p50-µs")
	b.ReportMetric(float64(percentile(took, 0.99).Nanoseconds())/1000, "p99-µs")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
}

// BenchmarkOutbox measures the outbox path of one message: enqueue (with
// its notice mark), claim, and deliver — both rate checks, the webhook POST
// to a fast local receiver, the delivery recorded — one after another.
func BenchmarkOutbox(b *testing.B) {
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	b.Cleanup(fast.Close)
	c := city(b, map[string]string{"jd": fast.URL})
	c.Dispatch.ReceiverRate = "9999999/s"
	c.Dispatch.Channels[0].Rate = "9999999/s"
	if err := c.Validate(); err != nil {
		b.Fatal(err)
	}
	r := newRig(b, c, Options{})
	d, ctx := r.d, context.Background()
	rc := Receiver{SubCenter: "jd"}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		now := time.Now()
		n := Notice{ID: fmt.Sprintf("INC-bench|%d|jd/0", i), Kind: KindTest, Receiver: rc}
		m := channel.Message{ID: messageID(KindTest, []Notice{n}), Kind: KindTest, At: now, Title: "【测试消息】bench", Lines: []string{"压测"}}
		if err := d.outbox.Enqueue(ctx, Envelope{Message: m, Receiver: rc, Notices: []string{n.ID}}, []string{"jd-hook"}, now); err != nil {
			b.Fatal(err)
		}
		ds, msgs, err := d.outbox.Claim(ctx, now, lease, 50)
		if err != nil || len(ds) != 1 {
			b.Fatalf("claimed %d, %v", len(ds), err)
		}
		d.deliver(ctx, ds[0], msgs[ds[0].MessageID])
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if sent, err := d.outbox.List(ctx, []string{StatusSent}, 0); err != nil || len(sent) != b.N {
		b.Fatalf("%d of %d sent, %v", len(sent), b.N, err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
}
