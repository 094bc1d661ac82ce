package ws_test

import (
	"slices"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/synthetic"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/synthetic/ws"
)

// BenchmarkDetectDropout measures how long after a fault the participant
// reports the dropout: a hard close (target under 100 ms) and silent death
// with a 250 ms ping interval and 3 missed pongs (target under 1 s). Each
// iteration is one fault; run with -benchtime=20x. It reports p50, p95 and
// max in milliseconds.
func BenchmarkDetectDropout(b *testing.B) {
	cases := []struct {
		name  string
		ping  time.Duration
		fault hall.Fault
	}{
		{name: "hard-close", ping: time.Second, fault: hall.Fault{Drop: true}},
		{name: "silent-death-250ms", ping: 250 * time.Millisecond, fault: hall.Fault{Silent: true}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var lat []float64
			for b.Loop() {
				b.StopTimer()
				d := detectOnce(b, tc.ping, tc.fault)
				lat = append(lat, float64(d)/1e6)
				b.StartTimer()
			}
			slices.Sort(lat)
			b.ReportMetric(lat[len(lat)/2], "p50-ms")
			b.ReportMetric(lat[(len(lat)*95)/100], "p95-ms")
			b.ReportMetric(lat[len(lat)-1], "max-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func detectOnce(b *testing.B, ping time.Duration, fault hall.Fault) time.Duration {
	h, base := startHall(b, time.Second)
	cfg := ws.Config{
		URL:          base + "/rooms/room-1/events",
		Room:         "room-1",
		PingInterval: ping,
		TickPeriod:   -1,
	}
	events := make(chan synthetic.Event, 16)
	cfg.OnEvent = func(e synthetic.Event) {
		select {
		case events <- e:
		default:
		}
	}
	r := startParticipant(b, cfg)
	defer r.stop()
	wait := func(kind synthetic.EventKind) synthetic.Event {
		deadline := time.After(5 * time.Second)
		for {
			select {
			case e := <-events:
				if e.Kind == kind {
					return e
				}
			case <-deadline:
				b.Fatalf("no %s within 5 s", kind)
			}
		}
	}
	wait(synthetic.EventConnected)
	// Fault at a random phase of the ping cycle.
	time.Sleep(ping + time.Duration(time.Now().UnixNano()%int64(ping)))
	at := time.Now()
	if err := h.Room("room-1").SetFault(fault); err != nil {
		b.Fatal(err)
	}
	e := wait(synthetic.EventDropout)
	return e.At.Sub(at)
}
