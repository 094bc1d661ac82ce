package drills

import (
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

func TestTouches(t *testing.T) {
	server := Fault{Kind: "server", Target: "jd-media-1", Servers: []string{"jd-media-1"}, Rooms: []string{"jd-hall-1", "jd-coord-1"}}
	room := Fault{Kind: "room", Target: "yz-hall-1", Rooms: []string{"yz-hall-1"}}
	path := Fault{Kind: "path", Target: "gy", Locations: []string{"gy"}}
	inc := func(cause vocab.Cause, subject string, p incident.Place) *incident.Incident {
		return &incident.Incident{Cause: cause, Subject: subject, Place: p}
	}
	for _, tc := range []struct {
		name  string
		fault Fault
		inc   *incident.Incident
		want  bool
	}{
		{"the server's own", server, inc(vocab.CauseServer, "jd-media-1", incident.Place{}), true},
		{"one of its rooms", server, inc(vocab.CauseRoom, "jd-coord-1", incident.Place{Rooms: []string{"jd-coord-1"}}), true},
		{"another server", server, inc(vocab.CauseServer, "jd-web-1", incident.Place{Servers: []string{"jd-web-1"}, Rooms: []string{"jd-web-only"}}), false},
		{"the room", room, inc(vocab.CauseRoom, "yz-hall-1", incident.Place{Rooms: []string{"yz-hall-1"}}), true},
		{"the room's server blamed", room, inc(vocab.CauseServer, "yz-web-1", incident.Place{Servers: []string{"yz-web-1"}, Rooms: []string{"yz-hall-1", "yz-hall-2"}}), true},
		{"another room", room, inc(vocab.CauseRoom, "yz-hall-2", incident.Place{Rooms: []string{"yz-hall-2"}}), false},
		{"the path blamed", path, inc(vocab.CauseNetwork, "gy", incident.Place{SubCenters: []string{"gy"}}), true},
		{"seen from gy alone, blamed on the room", path, inc(vocab.CauseRoom, "yz-hall-1", incident.Place{Locations: []string{"gy"}}), true},
		{"seen from everywhere", path, inc(vocab.CauseRoom, "yz-hall-1", incident.Place{Locations: []string{"gy", "yz"}}), false},
		{"no locations", path, inc(vocab.CauseRoom, "yz-hall-1", incident.Place{}), false},
	} {
		if got := tc.fault.Touches(tc.inc); got != tc.want {
			t.Errorf("%s: Touches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIsDrill(t *testing.T) {
	runs := []Run{testRun()}
	for _, tc := range []struct {
		name string
		inc  incident.Incident
		want bool
	}{
		{"opened while the fault held", mk("A", "server:jd-media-1", 50*s, 40*s, nil), true},
		{"opened within the grace", mk("A", "server:jd-media-1", 80*s+DefaultGrace, 70*s, nil), true},
		{"opened after the grace", mk("A", "server:jd-media-1", 81*s+DefaultGrace, 70*s, nil), false},
		{"opened before the fault", mk("A", "server:jd-media-1", 10*s, 5*s, nil), false},
		{"elsewhere", mk("A", "room:yz-hall-1", 50*s, 40*s, nil), false},
		{"reopened by the drill", mk("A", "server:jd-media-1", -time.Hour, -time.Hour, map[string]time.Duration{"reopened": 30 * s}), true},
	} {
		if got := IsDrill(&tc.inc, runs); got != tc.want {
			t.Errorf("%s: IsDrill = %v, want %v", tc.name, got, tc.want)
		}
	}
	if IsDrill(new(mk("A", "server:jd-media-1", 50*s, 40*s, nil)), nil) {
		t.Error("IsDrill with no runs")
	}
}
