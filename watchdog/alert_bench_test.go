package watchdog

import (
	"net/http/httptest"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// BenchmarkFaultToAlert measures the whole way from a fault to the duty
// officer's phone: the hall drops every bidder of a room (real WebSocket
// participants at two locations, 1 s windows), the watchdog opens the
// incident, dispatch sends it to the room's sub-center's webhook. Each
// iteration is one fault; run with -benchtime 20x. Target: p95 under 2 s
// (Alertmanager's default group_wait alone is 30 s).
//
//	go test -run '^$' -bench FaultToAlert -benchtime 20x ./watchdog
func BenchmarkFaultToAlert(b *testing.B) {
	city, h := e2eCity(b)
	city.Probe.Window = time.Second
	city.Probe.PingInterval = 250 * time.Millisecond
	city.Watchdog.Incidents.ReopenWithin = 0 // every fault a new incident
	city.Watchdog.Detect.Dropout.ClearAfter = time.Second
	const room, sub = "by-hall-1", "by"
	var mu sync.Mutex
	first := map[string]time.Time{} // incident id → its first alert
	rcv := httptest.NewServer(&channel.Receiver{Deliver: func(body channel.WebhookBody) {
		if body.Message.Kind != "opened" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, in := range body.Message.Incidents {
			if _, ok := first[in.ID]; !ok {
				first[in.ID] = time.Now()
			}
		}
	}})
	b.Cleanup(rcv.Close)
	d := &city.Dispatch
	d.Channels = []config.Channel{{Name: "by-phone", Type: "webhook", URL: rcv.URL, Rate: "600/min", StartTLS: true}}
	d.People = []config.Person{{ID: "duty", Name: "宝应值班员"}}
	d.Roster = []config.Roster{{SubCenter: sub, Levels: []config.Level{{Name: "值班员", Channels: []string{"by-phone"},
		Shifts: []config.Shift{{Days: "all", From: "00:00", To: "24:00", People: []string{"duty"}}}}}}}
	d.ReceiverRate = "600/min"
	bs := openBus(b, redisURL(b))
	w := startWatchdog(b, Options{Config: city, Bus: bs, NoHealth: true})
	startProbe(b, bs, city, "yz-probe", "yz", "", []string{room}, 2)
	startProbe(b, bs, city, "jd-probe", "jd", "", []string{room}, 2)
	time.Sleep(3 * time.Second)
	ctx := b.Context()
	var took []time.Duration
	for i := range b.N {
		time.Sleep(time.Duration(i*7919%1000) * time.Millisecond)
		at := time.Now()
		if err := h.Room(room).SetFault(hall.Fault{Drop: true}); err != nil {
			b.Fatal(err)
		}
		var inc incident.Incident
		waitFor(b, 15*time.Second, "the alert", func() bool {
			act, err := w.Store().Active(ctx)
			if err != nil || len(act) == 0 {
				return false
			}
			inc = act[0]
			mu.Lock()
			defer mu.Unlock()
			_, ok := first[inc.ID]
			return ok
		})
		mu.Lock()
		took = append(took, first[inc.ID].Sub(at))
		mu.Unlock()
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
