package watchdog

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

func TestMain(m *testing.M) {
	if replicaMain() {
		return
	}
	goleak.VerifyTestMain(m)
}

// TestDropoutOpensAndResolves feeds made-up Samples: a dropout opens an
// incident, and it resolves once the participants have been back for
// clear_after.
func TestDropoutOpensAndResolves(t *testing.T) {
	for _, be := range []struct{ name, url string }{
		{"redis-server", redisURL(t)},
		{"embedded", ""}, // what bidwatch demo runs on
	} {
		t.Run(be.name, func(t *testing.T) { dropoutOpensAndResolves(t, be.url) })
	}
}

func dropoutOpensAndResolves(t *testing.T, url string) {
	b := openBus(t, url)
	city := fastCity(t, "")
	w := startWatchdog(t, Options{Config: city, Bus: b, NoHealth: true})
	waitFor(t, 5*time.Second, "leadership", w.Leader)
	f := newFeeder(t, b)
	parts := []part{
		{"yz-probe", "yz", "jd-hall-1", "a"}, {"yz-probe", "yz", "jd-hall-1", "b"},
		{"jd-probe", "jd", "jd-hall-1", "a"}, {"jd-probe", "jd", "jd-hall-1", "b"},
	}
	win := 200 * time.Millisecond
	start := time.Now().Truncate(win)
	next := func(mod func(p part, s *sample.Sample)) {
		start = start.Add(win)
		time.Sleep(time.Until(start.Add(win)))
		f.window(start, win, parts, mod)
	}
	for range 5 {
		next(nil)
	}
	if got := incidents(t, w.Watchdog); len(got) != 0 {
		t.Fatalf("incidents with no fault:\n%s", describe(got))
	}
	fault := time.Now()
	next(func(p part, s *sample.Sample) {
		s.Dropouts, s.Connected, s.Error = 1, false, "read: connection reset by peer"
	})
	waitFor(t, 3*time.Second, "the incident", func() bool { return len(incidents(t, w.Watchdog)) == 1 })
	t.Logf("dropout → incident in %s", time.Since(fault).Round(time.Millisecond))
	for range 5 {
		next(nil)
	}
	inc := incidents(t, w.Watchdog)[0]
	if inc.Cause != "room" || inc.Subject != "jd-hall-1" || inc.State != incident.StateOpen || inc.Class != "partial" {
		t.Fatalf("incident %+v", inc)
	}
	if inc.Phenomenon.ParticipantsDown != 2 || inc.Phenomenon.Errors[0] != "read: connection reset by peer" {
		t.Errorf("phenomenon %+v", inc.Phenomenon)
	}
	// Clean windows for clear_after (2 s) and the settle time (1 s).
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) && incidents(t, w.Watchdog)[0].State != incident.StateResolved {
		next(nil)
	}
	inc = incidents(t, w.Watchdog)[0]
	if inc.State != incident.StateResolved || inc.Result == "" {
		t.Fatalf("not resolved: %+v", inc)
	}
	if n := len(incidents(t, w.Watchdog)); n != 1 {
		t.Fatalf("%d incidents", n)
	}
	// The last window's samples may be in the consumer's hands still: every
	// one is acknowledged within a moment.
	ctx := context.Background()
	waitFor(t, 5*time.Second, "no samples pending after the run", func() bool {
		p, err := b.Client().XPending(ctx, b.Key("samples"), Group).Result()
		return err == nil && p.Count == 0
	})
}
