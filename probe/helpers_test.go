package probe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openBus(t *testing.T, url, prefix string) *bus.Bus {
	t.Helper()
	b, err := bus.Open(context.Background(), bus.Options{URL: url, Prefix: prefix, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// testLogger logs to the test's output; every goroutine that logs is
// stopped before the test ends.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func testRooms(ids ...string) []config.Room {
	var out []config.Room
	for _, id := range ids {
		out = append(out, config.Room{ID: id, Name: id, Kind: config.RoomOpeningHall, SubCenter: "sc-1",
			EventsURL: "ws://127.0.0.1:1/rooms/" + id + "/events"})
	}
	return out
}

// fakeOptions are agent options with fake WebSocket participants emitting
// every period, two per room, and no patrol.
func fakeOptions(t *testing.T, b *bus.Bus, rec *recorder, period time.Duration) Options {
	return Options{
		ID: "probe-a", Location: "sc-1", Version: "test", Bus: b,
		Rooms: testRooms("hall-1", "hall-2", "hall-3"), Probe: config.DefaultProbe(),
		Participants:      map[string]int{"ws": 2},
		Transports:        map[string]Factory{"ws": rec.factory(sample.TransportWS, period)},
		PatrolInterval:    -1,
		HeartbeatInterval: 200 * time.Millisecond,
		FileCheckInterval: 50 * time.Millisecond,
		FlushTimeout:      5 * time.Second,
		Logger:            testLogger(t),
	}
}

// startAgent runs an agent until the returned stop is called (or the test
// ends) and checks that it stops within a bound.
func startAgent(t *testing.T, opts Options) (*Agent, func()) {
	t.Helper()
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("agent did not stop within 30 s")
			}
		})
	}
	t.Cleanup(stop)
	return a, stop
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type sessionYAML struct {
	id, room  string
	opensAt   time.Time
	dur       time.Duration
	cancelled bool
}

func writeSchedule(t *testing.T, path string, sessions ...sessionYAML) {
	t.Helper()
	var sb strings.Builder
	sb.WriteString("sessions:\n")
	for _, s := range sessions {
		fmt.Fprintf(&sb, "  - id: %q\n    room: %s\n    title: test\n    opens_at: %q\n    expected_duration: %s\n    cancelled: %v\n",
			s.id, s.room, s.opensAt.Format(time.RFC3339Nano), s.dur, s.cancelled)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func schedulePath(t *testing.T) string { return filepath.Join(t.TempDir(), "schedule.yaml") }

// streamSamples reads the whole samples stream.
func streamSamples(t *testing.T, b *bus.Bus) []sample.Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := b.Client().XRange(ctx, b.Key(bus.KeySamples), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]sample.Sample, 0, len(msgs))
	for _, m := range msgs {
		s, err := bus.DecodeSample(m.Values)
		if err != nil {
			t.Fatalf("stream entry %s: %v", m.ID, err)
		}
		out = append(out, s)
	}
	return out
}

// checkComplete checks that the stream holds, for every participant that
// emitted, seq 1..emitted exactly once each, in order.
func checkComplete(t *testing.T, samples []sample.Sample, emitted map[string]uint64) {
	t.Helper()
	next := map[string]uint64{}
	for _, s := range samples {
		want := next[s.Participant] + 1
		if s.Seq != want {
			t.Fatalf("participant %s: seq %d where %d was due (duplicate, gap or disorder)", s.Participant, s.Seq, want)
		}
		next[s.Participant] = s.Seq
	}
	emitting := 0
	for p, n := range emitted {
		if next[p] != n {
			t.Errorf("participant %s: %d samples in the stream, %d emitted", p, next[p], n)
		}
		if n > 0 {
			emitting++
		}
	}
	if len(next) != emitting {
		t.Errorf("%d participants in the stream, %d emitted", len(next), emitting)
	}
}

// scrape reads one metric's value from an agent's /metrics.
func scrape(t *testing.T, addr, name string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("metric %s not in /metrics", name)
	return 0
}
