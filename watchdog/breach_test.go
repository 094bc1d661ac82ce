package watchdog

import (
	"slices"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// TestDeadlineBreach moves the watchdog's clock (and the probes', whose
// Samples it stamps) past an open incident's deadline: the breach is flagged
// on the next evaluation and stays on the record after it resolves.
func TestDeadlineBreach(t *testing.T) {
	b := openBus(t, redisURL(t))
	city := fastCity(t, "")
	clock := newFakeClock()
	w := startWatchdog(t, Options{Config: city, Bus: b, NoHealth: true, Clock: clock})
	events := w.Events(t.Context())
	waitFor(t, 5*time.Second, "leadership", w.Leader)
	f := newFeeder(t, b)
	parts := []part{{"yz-probe", "yz", "by-hall-1", "a"}, {"jd-probe", "jd", "by-hall-1", "a"}}
	win := 200 * time.Millisecond
	feed := func(n int, mod func(p part, s *sample.Sample)) {
		for range n {
			start := clock.Now().Truncate(win)
			time.Sleep(time.Until(start.Add(win).Add(-clock.offsetNow())))
			f.window(start, win, parts, mod)
		}
	}
	down := func(_ part, s *sample.Sample) {
		s.Connected, s.ConnectedMS, s.Error = false, 0, "dial: connection refused"
	}
	feed(3, nil)
	feed(3, down)
	waitFor(t, 3*time.Second, "the incident", func() bool { return len(incidents(t, w.Watchdog)) == 1 })
	inc := incidents(t, w.Watchdog)[0]
	if inc.Class != "partial" || inc.Breached {
		t.Fatalf("incident %+v", inc)
	}

	clock.advance(2*time.Hour + time.Minute)
	feed(3, down) // still down, two hours later
	waitFor(t, 3*time.Second, "the breach", func() bool { return incidents(t, w.Watchdog)[0].Breached })
	inc = incidents(t, w.Watchdog)[0]
	if inc.State != incident.StateOpen || !inc.BreachedAt.Equal(inc.Deadline) {
		t.Fatalf("breached incident %+v", inc)
	}
	if !slices.ContainsFunc(inc.Timeline, func(e incident.Entry) bool { return e.Kind == "breached" && e.Actor == incident.Actor }) {
		t.Errorf("no breach in the timeline: %+v", inc.Timeline)
	}

	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) && incidents(t, w.Watchdog)[0].State != incident.StateResolved {
		feed(1, nil)
	}
	inc = incidents(t, w.Watchdog)[0]
	if inc.State != incident.StateResolved || !inc.Breached || inc.HandlingTime(clock.Now()) < 2*time.Hour {
		t.Fatalf("resolved incident %+v", inc)
	}
	var kinds []string
	timeout := time.After(2 * time.Second)
	for len(kinds) == 0 || kinds[len(kinds)-1] != "resolved" {
		select {
		case ev := <-events:
			kinds = append(kinds, ev.Kind)
		case <-timeout:
			t.Fatalf("events %v", kinds)
		}
	}
	if !slices.Contains(kinds, "breached") || kinds[0] != "opened" {
		t.Errorf("events %v", kinds)
	}
}
