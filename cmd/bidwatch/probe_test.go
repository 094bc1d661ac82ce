package main

import (
	"strings"
	"testing"

	"github.com/bidwatch/bidwatch/internal/config"
)

func TestViaRooms(t *testing.T) {
	city := config.DemoCity()
	rooms, err := viaRooms(city.Rooms, "127.0.0.1:7402")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rooms {
		orig := city.Rooms[i]
		for _, u := range []struct{ got, was string }{{r.EventsURL, orig.EventsURL}, {r.WHEPURL, orig.WHEPURL}, {r.WHIPURL, orig.WHIPURL}} {
			if want := strings.Replace(u.was, "127.0.0.1:7400", "127.0.0.1:7402", 1); u.got != want {
				t.Errorf("room %s: %q, want %q", r.ID, u.got, want)
			}
		}
		if !strings.Contains(orig.EventsURL, ":7400/") {
			t.Errorf("room %s: the config's rooms were changed: %s", r.ID, orig.EventsURL)
		}
	}
	for _, bad := range []string{"7402", "gy", ":7402", "127.0.0.1:0", "127.0.0.1:x", "127.0.0.1:70000"} {
		if _, err := viaRooms(city.Rooms, bad); err == nil || err.Error() != "want HOST:PORT, like 127.0.0.1:7402" {
			t.Errorf("viaRooms(%q): %v", bad, err)
		}
	}
}

func TestProbeBadVia(t *testing.T) {
	code, _, errOut := execute(t, "probe", "--config", "../../configs/demo.yaml", "--location", "gy", "--via", "gy-path")
	if code != 3 || errOut != "--via gy-path: want HOST:PORT, like 127.0.0.1:7402" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
