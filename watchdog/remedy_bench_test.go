package watchdog

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/remedy"
)

// BenchmarkRemedy measures automatic remediation against the hall: a media
// server saturates (CPU 97 %, its rooms' frames delayed 600 ms, seen by real
// WebSocket participants at two locations), the watchdog opens the
// incident, the runbook restart-media restarts the server through the
// hall's admin API, and the probes see the rooms well again. Each iteration
// is one fault: fault → runbook started (the attempt's Started) and fault
// → verified fixed (its end, when the incident is marked mitigated), p50
// and p95. Between faults the incident resolves; the cooldown is 1 ms.
//
//	go test -run '^$' -bench Remedy -benchtime 20x -timeout 20m ./watchdog
func BenchmarkRemedy(b *testing.B) {
	city, h := e2eCity(b)
	slowerClear(city)
	city.Watchdog.Incidents.ReopenWithin = 0 // every fault a new incident
	const name, server = "restart-media", "jd-media-1"
	withRunbooks(b, city, restartRunbook(hallAddrOf(city), 20*time.Second))
	bs := openBus(b, redisURL(b))
	w := startWatchdog(b, Options{Config: city, Bus: bs})
	rooms := []string{"jd-hall-1", "jd-coord-1", "yz-hall-1"}
	startProbe(b, bs, city, "yz-probe", "yz", "", rooms, 2)
	startProbe(b, bs, city, "jd-probe", "jd", "", rooms, 2)
	time.Sleep(3 * time.Second)
	ctx := context.Background()
	atts := remedy.NewAttempts(bs.Client(), bs.Prefix())
	pattern := atts.AttemptKey("*", name, 0)
	seen := map[string]bool{}
	var started, verified []time.Duration
	mitigated := 0
	for i := range b.N {
		time.Sleep(time.Duration(i*7919%1000) * time.Millisecond)
		at := time.Now()
		saturate(b, h, server)
		var a remedy.Attempt
		waitFor(b, 40*time.Second, "the runbook verified", func() bool {
			keys, err := bs.Client().Keys(ctx, pattern).Result()
			if err != nil {
				return false
			}
			for _, k := range keys {
				if seen[k] {
					continue
				}
				got, err := atts.Load(ctx, k)
				if err != nil {
					return false
				}
				switch got.State {
				case remedy.AttemptVerified:
					a, seen[k] = got, true
					return true
				case remedy.AttemptFailed, remedy.AttemptRefused, remedy.AttemptInterrupted:
					b.Fatalf("run %d: attempt %s %s: %s", i, k, got.State, got.Reason)
				}
			}
			return false
		})
		started = append(started, a.Started.Sub(at))
		verified = append(verified, a.Ended.Sub(at))
		if inc, err := w.Store().Get(ctx, a.Incident); err == nil && !inc.MitigatedAt.IsZero() {
			mitigated++
		}
		waitFor(b, 30*time.Second, "the incident resolved", func() bool {
			act, err := w.Store().Active(ctx)
			return err == nil && len(act) == 0
		})
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Milliseconds())
	}
	b.ReportMetric(pct(started, 0.5), "started-p50-ms")
	b.ReportMetric(pct(started, 0.95), "started-p95-ms")
	b.ReportMetric(pct(verified, 0.5), "verified-p50-ms")
	b.ReportMetric(pct(verified, 0.95), "verified-p95-ms")
	b.ReportMetric(float64(mitigated), "mitigated")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
	if n := h.Server(server).Restarts(); n != uint64(b.N) {
		b.Errorf("%d restarts for %d faults", n, b.N)
	}
}
