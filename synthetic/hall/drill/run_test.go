package drill

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// playing is one Run on a fake clock, driven by the test.
type playing struct {
	t      *testing.T
	fc     *clockwork.FakeClock
	t0     time.Time
	events chan Event
	done   chan error
	cancel context.CancelFunc
}

// play starts Run on a fake clock; the test moves the clock.
func play(t *testing.T, target Target, s *Script) *playing {
	t.Helper()
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.Local)
	p := &playing{t: t, fc: clockwork.NewFakeClockAt(t0), t0: t0, events: make(chan Event, 64), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		p.done <- Run(ctx, target, s, Options{Clock: p.fc, OnEvent: func(e Event) { p.events <- e }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(wait):
			t.Error("Run did not return after its context ended")
		}
	})
	return p
}

// advance waits until Run waits for the clock, then moves it to t0+to.
func (p *playing) advance(to time.Duration) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := p.fc.BlockUntilContext(ctx, 1); err != nil {
		p.t.Fatalf("advance to %s: Run is not waiting for the clock", to)
	}
	p.fc.Advance(p.t0.Add(to).Sub(p.fc.Now()))
}

// expect returns the next event, which must be kind of drill index at t0+at.
func (p *playing) expect(kind EventKind, index int, at time.Duration) Event {
	p.t.Helper()
	select {
	case e := <-p.events:
		if e.Kind != kind || e.Index != index || !e.At.Equal(p.t0.Add(at)) || e.Planned != at && !e.Interrupted {
			p.t.Fatalf("event %s drill %d at %s (planned %s), want %s drill %d at %s", e.Kind, e.Index, e.At.Sub(p.t0), e.Planned, kind, index, at)
		}
		return e
	case <-time.After(wait):
		p.t.Fatalf("no %s event for drill %d within %s", kind, index, wait)
	}
	return Event{}
}

// returned waits for Run to return.
func (p *playing) returned() error {
	p.t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		return err
	case <-time.After(wait):
		p.t.Fatal("Run did not return")
	}
	return nil
}

func mustParse(t *testing.T, text string) *Script {
	t.Helper()
	s, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

// TestRunTimeline plays an overlapping pair and a repeating drill on a fake
// clock and checks, at every step, what the hall has in force.
func TestRunTimeline(t *testing.T) {
	th := startHall(t)
	rec := &recorder{Target: HallTarget{Hall: th.Hall}}
	s := mustParse(t, `
start: 10s
drills:
  - name: "media-1 saturated: CPU 97, its rooms lag"
    hold: 60s
    pause: 60s
    faults:
      - {server: media-1, cpu_pct: 97, rooms_fault: {latency_ms: 600}}
  - name: path gy congested meanwhile
    after: 20s
    hold: 90s
    pause: 30s
    faults:
      - {path: gy, delay: 700ms}
  - name: r3 drops its bidders every 5 s
    hold: 12s
    repeat: 5s
    faults:
      - {room: r3, drop: true}
`)
	p := play(t, rec, s)
	const sec = time.Second
	step := func(to time.Duration, kind EventKind, index int, calls []string, state string) {
		t.Helper()
		p.advance(to)
		p.expect(kind, index, to)
		if got := rec.take(); !reflect.DeepEqual(got, calls) {
			t.Errorf("at %s: calls %q, want %q", to, got, calls)
		}
		if got := th.state(); got != state {
			t.Errorf("at %s: hall %s, want %s", to, got, state)
		}
	}
	if got := th.state(); got != "clean" {
		t.Fatalf("before the start: %s", got)
	}
	step(10*sec, Started, 0, []string{"set health media-1", "set room r1", "set room r2"},
		"media-1 cpu=97 down=false; r1 latency=600; r2 latency=600")
	step(30*sec, Started, 1, []string{"set path gy"},
		"media-1 cpu=97 down=false; r1 latency=600; r2 latency=600; path gy delay=700 cut=false")
	step(70*sec, Stopped, 0, []string{"clear room r1", "clear room r2", "clear health media-1"},
		"path gy delay=700 cut=false")
	step(120*sec, Stopped, 1, []string{"clear path gy"}, "clean")
	// The third starts once both are over and their pauses have passed:
	// 70 s + 60 s and 120 s + 30 s.
	step(150*sec, Started, 2, []string{"set room r3"}, "clean")
	step(155*sec, Repeated, 2, []string{"set room r3"}, "clean")
	step(160*sec, Repeated, 2, []string{"set room r3"}, "clean")
	step(162*sec, Stopped, 2, []string{"clear room r3"}, "clean")
	p.expect(Finished, -1, 162*sec)
	if err := p.returned(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestRunCancelClears ends Run's context while two drills hold: both are
// cleared, latest first, and reported as stopped early.
func TestRunCancelClears(t *testing.T) {
	th := startHall(t)
	s := mustParse(t, `
drills:
  - {name: "web-1 down", hold: 60s, faults: [{server: web-1, down: true}]}
  - {name: "path yz cut", after: 5s, hold: 60s, faults: [{path: yz, cut: true}]}
`)
	p := play(t, HallTarget{Hall: th.Hall}, s)
	p.expect(Started, 0, 0)
	p.advance(5 * time.Second)
	p.expect(Started, 1, 5*time.Second)
	if got := th.state(); got != "web-1 cpu=- down=true; path yz delay=0 cut=true" {
		t.Fatalf("while holding: %s", got)
	}
	p.cancel()
	if e := p.expect(Stopped, 1, 5*time.Second); !e.Interrupted || !strings.Contains(e.Line(), "■ DRILL stopped early: path yz cut — its faults are cleared") {
		t.Errorf("interrupted: %+v, line %q", e, e.Line())
	}
	p.expect(Stopped, 0, 5*time.Second)
	if err := p.returned(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: %v, want context.Canceled", err)
	}
	if got := th.state(); got != "clean" {
		t.Errorf("after cancel: %s", got)
	}
}

// TestRunReportsFailures: what cannot be set is reported and the rest is
// set and cleared all the same.
func TestRunReportsFailures(t *testing.T) {
	th := startHall(t)
	rec := &recorder{Target: HallTarget{Hall: th.Hall}, fail: map[string]error{
		"set room r1":   errors.New("admin API down"),
		"clear path gy": errors.New("admin API down"),
	}}
	s := mustParse(t, `
drills:
  - name: "three at once: rooms and a path"
    hold: 10s
    faults:
      - {room: r1, latency_ms: 100}
      - {room: r2, latency_ms: 200}
      - {path: gy, delay: 1s}
`)
	p := play(t, rec, s)
	e := p.expect(Started, 0, 0)
	if e.Err == nil || e.Err.Error() != "room r1: admin API down" {
		t.Errorf("start error %v", e.Err)
	}
	if want := "09:00:00 ▶ DRILL three at once: rooms and a path (for 10s)\n  could not start the drill: room r1: admin API down"; e.Line() != want {
		t.Errorf("line %q, want %q", e.Line(), want)
	}
	if got := th.state(); got != "r2 latency=200; path gy delay=1000 cut=false" {
		t.Errorf("after a failed start: %s", got)
	}
	p.advance(10 * time.Second)
	e = p.expect(Stopped, 0, 10*time.Second)
	if e.Err == nil || e.Err.Error() != "path gy: admin API down" {
		t.Errorf("stop error %v", e.Err)
	}
	if got := rec.take(); !reflect.DeepEqual(got, []string{"set room r1", "set room r2", "set path gy", "clear path gy", "clear room r2", "clear room r1"}) {
		t.Errorf("calls %q", got)
	}
	p.expect(Finished, -1, 10*time.Second)
	if err := p.returned(); err != nil {
		t.Fatal(err)
	}
}

// TestRunChecksFirst: a script that does not fit the hall is refused
// before anything is set.
func TestRunChecksFirst(t *testing.T) {
	th := startHall(t)
	rec := &recorder{Target: HallTarget{Hall: th.Hall}}
	s := mustParse(t, "drills:\n  - {name: x, hold: 1s, faults: [{server: db-9, down: true}, {path: jd, cut: true}]}\n")
	err := Run(context.Background(), rec, s, Options{Clock: clockwork.NewFakeClock()})
	want := "drills[0].faults[0].server (line 2): unknown server \"db-9\"\n" +
		"drills[0].faults[1].path (line 2): no network path from \"jd\" (the hall has paths from yz, gy)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrInvalid) {
		t.Errorf("Run: %v, want %s", err, want)
	}
	if calls := rec.take(); len(calls) != 0 {
		t.Errorf("calls %q, want none", calls)
	}
}

func TestEventLine(t *testing.T) {
	at := time.Date(2026, 11, 28, 2, 21, 12, 0, time.Local)
	d := Drill{Name: "media server jd-media-1 saturated: CPU 97 %, its rooms lag 600 ms", Hold: time.Minute}
	tests := []struct {
		e    Event
		want string
	}{
		{Event{Kind: Started, Drill: d, At: at}, "02:21:12 ▶ DRILL media server jd-media-1 saturated: CPU 97 %, its rooms lag 600 ms (for 1m0s)"},
		{Event{Kind: Stopped, Drill: d, At: at.Add(time.Minute)}, "02:22:12 ■ DRILL over: media server jd-media-1 saturated — the watchdog should resolve it"},
		{Event{Kind: Repeated, Drill: d, At: at}, ""},
		{Event{Kind: Repeated, Drill: d, At: at, Err: errors.New("x")}, "  could not repeat the drill: x"},
		{Event{Kind: Stopped, Drill: d, At: at, Err: errors.New("x")}, "02:21:12 ■ DRILL over: media server jd-media-1 saturated — the watchdog should resolve it\n  could not clear the drill: x"},
		{Event{Kind: Finished, Index: -1, At: at}, "02:21:12 ■ drill script finished"},
	}
	for _, tt := range tests {
		if got := tt.e.Line(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.e.Kind, got, tt.want)
		}
	}
}
