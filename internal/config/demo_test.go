package config

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestDemoCopies keeps configs/demo.yaml and the embedded copy identical.
func TestDemoCopies(t *testing.T) {
	shipped, err := os.ReadFile("../../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shipped, DemoYAML()) {
		t.Fatal("configs/demo.yaml differs from internal/config/demo.yaml: edit the latter and run `go generate ./internal/config`")
	}
}

func TestDemoCity(t *testing.T) {
	c := DemoCity()
	if n := len(c.SubCenters); n != 5 {
		t.Errorf("%d sub-centers, want 5", n)
	}
	if n := len(c.Rooms); n < 8 || n > 10 {
		t.Errorf("%d rooms, want 8 to 10", n)
	}
	for _, sc := range c.SubCenters {
		roles := map[ServerRole]bool{}
		for _, s := range c.Servers {
			if s.SubCenter == sc.ID {
				roles[s.Role] = true
			}
		}
		if len(roles) != 4 {
			t.Errorf("sub-center %s has roles %v, want web, ws-gateway, media and db", sc.ID, roles)
		}
	}
	// Everything points at the synthetic hall on loopback.
	const hall = "127.0.0.1:7400/"
	for _, r := range c.Rooms {
		if want := "ws://" + hall + "rooms/" + r.ID + "/events"; r.EventsURL != want {
			t.Errorf("room %s events_url %s, want %s", r.ID, r.EventsURL, want)
		}
		if want := "http://" + hall + "rooms/" + r.ID + "/whep"; r.WHEPURL != want {
			t.Errorf("room %s whep_url %s, want %s", r.ID, r.WHEPURL, want)
		}
		if r.Kind == RoomCoordination {
			if want := "http://" + hall + "rooms/" + r.ID + "/whip"; r.WHIPURL != want {
				t.Errorf("room %s whip_url %s, want %s", r.ID, r.WHIPURL, want)
			}
		}
	}
	for _, s := range c.Servers {
		for _, h := range s.Health {
			if !strings.HasPrefix(h.URL, "http://"+hall+"servers/"+s.ID+"/") {
				t.Errorf("server %s check %s url %s is not the hall's", s.ID, h.Type, h.URL)
			}
			if h.Type == HealthPrometheus && len(h.Metrics) != 4 {
				t.Errorf("server %s metrics %v", s.ID, h.Metrics)
			}
		}
	}
	// Each call returns a fresh copy.
	c.Rooms[0].Name = "changed"
	if DemoCity().Rooms[0].Name == "changed" {
		t.Errorf("DemoCity shares its Config between calls")
	}
}
