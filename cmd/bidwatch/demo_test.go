package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall"
)

func TestDemoRunsAndStops(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runDemo(ctx, &out, slog.New(slog.DiscardHandler), "127.0.0.1:0", "room-1") }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop within 10 s of its deadline")
	}
	for _, want := range []string{"synthetic hall on http://127.0.0.1:", "connected in", " up ", "demo stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDemoRejectsUnknownRoom(t *testing.T) {
	code, _, errOut := execute(t, "demo", "--room", "nowhere", "--listen", "127.0.0.1:0", "--duration", "1s")
	if code != 3 || !strings.Contains(errOut, `--room "nowhere"`) {
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
