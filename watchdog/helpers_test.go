package watchdog

import (
	"context"
	"fmt"
	"github.com/jonboulle/clockwork"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// fastCity is the demo city with the watchdog's timings shortened so tests
// run in seconds; hallAddr, when set, replaces the hall's address in every
// URL.
func fastCity(t testing.TB, hallAddr string) *config.Config {
	t.Helper()
	c, err := fastSettings(config.DemoCity(), hallAddr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fastSettings shortens the watchdog's timings (see fastCity).
func fastSettings(c *config.Config, hallAddr string) (*config.Config, error) {
	if hallAddr != "" {
		for i := range c.Servers {
			for j := range c.Servers[i].Health {
				h := &c.Servers[i].Health[j]
				h.URL = strings.Replace(h.URL, "127.0.0.1:7400", hallAddr, 1)
				h.Interval, h.Timeout = time.Second, 800*time.Millisecond
			}
		}
		for i := range c.Rooms {
			c.Rooms[i].EventsURL = strings.Replace(c.Rooms[i].EventsURL, "127.0.0.1:7400", hallAddr, 1)
		}
	}
	w := &c.Watchdog
	w.Consumer.Block = 200 * time.Millisecond
	w.Consumer.ClaimIdle = time.Second
	w.Leader.LeaseTTL = time.Second
	w.Leader.Tick = 50 * time.Millisecond
	w.Leader.TakeoverGrace = 0
	w.Correlate.Settle = time.Second
	w.Detect.Latency.ClearAfter = 2 * time.Second
	w.Detect.Stutter.ClearAfter = 2 * time.Second
	w.Detect.Dropout.ClearAfter = 2 * time.Second
	w.Detect.ServerDown.ClearAfter = 2 * time.Second
	for i := range w.Detect.Saturation {
		w.Detect.Saturation[i].For = 0
		w.Detect.Saturation[i].ClearAfter = 2 * time.Second
	}
	w.Detect.Stale = 3 * time.Second
	return c, c.Validate()
}

// redisURL starts a private redis-server (skipping the test without one).
func redisURL(t testing.TB) string {
	t.Helper()
	return bustest.StartRedis(t).URL()
}

func openBus(t testing.TB, url string) *bus.Bus {
	t.Helper()
	b, err := bus.Open(context.Background(), bus.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() && os.Getenv("BIDWATCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// running is a Watchdog running in the background.
type running struct {
	*Watchdog
	cancel context.CancelFunc
	done   chan struct{}
}

// stop stops it and waits, bounded.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Errorf("watchdog %s did not stop", r.ID())
	}
}

func startWatchdog(t testing.TB, opts Options) *running {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	w, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Watchdog: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// incidents lists every incident in the store.
func incidents(t testing.TB, w *Watchdog) []incident.Incident {
	t.Helper()
	all, err := w.Store().List(context.Background(), incident.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func describe(incs []incident.Incident) string {
	var out []string
	for _, i := range incs {
		out = append(out, fmt.Sprintf("%s %s %s:%s rooms=%v class=%s", i.ID, i.State, i.Cause, i.Subject, i.Place.Rooms, i.Class))
	}
	return strings.Join(out, "\n")
}

// fakeClock is the real time moved by an offset the test sets: tickers and
// timers run on real time, the decisions' now jumps.
type fakeClock struct {
	clockwork.Clock
	mu     sync.Mutex
	offset time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{Clock: clockwork.NewRealClock()} }

func (c *fakeClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) offsetNow() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// feeder publishes made-up Samples for a set of participants, one window
// at a time, as probes would.
type feeder struct {
	t    testing.TB
	bus  *bus.Bus
	mu   sync.Mutex
	seqs map[string]uint64
}

func newFeeder(t testing.TB, b *bus.Bus) *feeder {
	return &feeder{t: t, bus: b, seqs: map[string]uint64{}}
}

// part is one made-up participant.
type part struct {
	probe, loc, room, name string
}

// window publishes one Sample per participant for the window starting at
// start; mod, when set, changes each before it goes.
func (f *feeder) window(start time.Time, length time.Duration, parts []part, mod func(p part, s *sample.Sample)) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var entries []bus.Entry
	for _, p := range parts {
		key := p.probe + "/" + p.name
		f.seqs[key]++
		s := sample.Sample{
			Probe: p.probe, Location: p.loc, Session: "S-1", Room: p.room,
			Transport: sample.TransportWS, Participant: p.name, Seq: f.seqs[key],
			WindowStart: start, WindowMS: float64(length.Milliseconds()), Connected: true, ConnectedMS: float64(length.Milliseconds()),
			RTTCount: 1, RTTMedianMS: 1.5, RTTMaxMS: 2, Messages: 1,
		}
		if mod != nil {
			mod(p, &s)
		}
		e, err := bus.NewEntry(s)
		if err != nil {
			f.t.Fatal(err)
		}
		entries = append(entries, e)
	}
	res, err := f.bus.Publish(context.Background(), entries)
	if err != nil {
		f.t.Fatalf("publish: %v", err)
	}
	return res.Added
}
