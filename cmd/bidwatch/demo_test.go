package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/synthetic/hall/drill"
)

// TestDemoPipeline runs the demo with one drill, a gateway dropping every
// bidder of a room: the whole pipeline (hall, schedule, probes from two
// locations, embedded Redis, watchdog) must turn it into an incident.
func TestDemoPipeline(t *testing.T) {
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	script, err := drill.Parse([]byte(`
start: 4s
drills:
  - name: drop yz-hall-1
    hold: 3s
    repeat: 1s
    pause: 1h
    faults: [{room: yz-hall-1, drop: true}]
`))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, &out, slog.New(slog.DiscardHandler), demoOptions{
			listen: "127.0.0.1:0", perRoom: 1, script: script,
		})
	}()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), " opened ") {
		select {
		case err := <-done:
			t.Fatalf("demo ended early: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("no incident opened within 30 s:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop within 15 s")
	}
	text := out.String()
	for _, want := range []string{"embedded at redis://127.0.0.1:", "bid openings starting now", "paths     yz 127.0.0.1:", ", gy 127.0.0.1:", "▶ DRILL drop yz-hall-1 (for 3s)", "■ DRILL ", "yz-hall-1", "demo stopped"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDemoBadFlags(t *testing.T) {
	code, _, errOut := execute(t, "demo", "--participants", "0", "--listen", "127.0.0.1:0", "--duration", "1s")
	if code != 3 || !strings.Contains(errOut, "--participants 0") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestCheckRoomFromConfig checks a room named by its id in the demo city,
// with the configuration's URLs pointed at a hall serving its rooms.
func TestCheckRoomFromConfig(t *testing.T) {
	city := config.DemoCity()
	var rooms []hall.RoomSpec
	for _, r := range city.Rooms {
		rooms = append(rooms, hall.RoomSpec{ID: r.ID, Kind: string(r.Kind)})
	}
	h, err := hall.New(hall.Options{Rooms: rooms, Period: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { h.Close(); srv.Close() })

	yaml := strings.ReplaceAll(string(config.DemoYAML()), "127.0.0.1:7400", strings.TrimPrefix(srv.URL, "http://"))
	path := filepath.Join(t.TempDir(), "city.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	room := city.Rooms[0].ID
	code, out, errOut := execute(t, "check", "--config", path, "-d", "1500ms", "--tick", "100ms", "--json", room)
	if code != 0 {
		t.Fatalf("exit %d; stderr %s; stdout %s", code, errOut, out)
	}
	if h.Room(room).EventsSent() == 0 {
		t.Errorf("the hall sent room %s nothing: the check went elsewhere", room)
	}
	code, _, errOut = execute(t, "check", "--config", path, "no-such-room")
	if code != 3 || !strings.Contains(errOut, `"no-such-room" is neither a room id`) {
		t.Errorf("unknown room: exit %d, stderr %q", code, errOut)
	}
}
