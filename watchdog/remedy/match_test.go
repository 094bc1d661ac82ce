package remedy

import (
	"testing"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

func TestMatch(t *testing.T) {
	city := config.DemoCity()
	server := &incident.Incident{ID: "INC-1", Cause: vocab.CauseServer, Subject: "yz-wsgw-1", Class: vocab.ClassPartial,
		Place: incident.Place{SubCenters: []string{"yz"}, Rooms: []string{"yz-hall-1", "yz-hall-2"}, Servers: []string{"yz-wsgw-1"}}}
	room := &incident.Incident{ID: "INC-2", Cause: vocab.CauseRoom, Subject: "yz-hall-1", Class: vocab.ClassMinor,
		Place: incident.Place{SubCenters: []string{"yz"}, Rooms: []string{"yz-hall-1"}}}
	for _, tc := range []struct {
		name string
		m    config.RunbookMatch
		inc  *incident.Incident
		want bool
	}{
		{"cause", config.RunbookMatch{Causes: []string{"server"}}, server, true},
		{"other cause", config.RunbookMatch{Causes: []string{"uplink"}}, server, false},
		{"role of the subject", config.RunbookMatch{Roles: []string{"ws-gateway"}}, server, true},
		{"other role", config.RunbookMatch{Roles: []string{"media"}}, server, false},
		{"role of a room's server", config.RunbookMatch{Causes: []string{"room"}, Roles: []string{"media"}}, room, true},
		{"room", config.RunbookMatch{Rooms: []string{"yz-hall-2"}}, server, true},
		{"other room", config.RunbookMatch{Rooms: []string{"yz-hall-2"}}, room, false},
		{"sub-center", config.RunbookMatch{SubCenters: []string{"yz"}}, room, true},
		{"other sub-center", config.RunbookMatch{SubCenters: []string{"gy"}}, room, false},
		{"class", config.RunbookMatch{Classes: []string{"minor"}}, room, true},
		{"every list must match", config.RunbookMatch{Causes: []string{"server"}, Classes: []string{"minor"}}, server, false},
		{"nothing written", config.RunbookMatch{}, server, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Match(&config.Runbook{Match: tc.m}, tc.inc, city); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	city := config.DemoCity()
	off := false
	inc := &incident.Incident{Cause: vocab.CauseServer, Subject: "yz-wsgw-1"}
	rbs := []config.Runbook{
		{Name: "off", Enabled: &off, Match: config.RunbookMatch{Causes: []string{"server"}}},
		{Name: "media", Match: config.RunbookMatch{Roles: []string{"media"}}},
		{Name: "gateway", Match: config.RunbookMatch{Roles: []string{"ws-gateway"}}},
		{Name: "any-server", Match: config.RunbookMatch{Causes: []string{"server"}}},
	}
	rb, ok := Select(rbs, inc, city)
	if !ok || rb.Name != "gateway" {
		t.Fatalf("Select = %v, %v; want gateway", rb, ok)
	}
	if _, ok := Select(rbs[:2], inc, city); ok {
		t.Error("Select found a runbook where none is enabled and matches")
	}
}

func TestDataOf(t *testing.T) {
	city := config.DemoCity()
	room := &incident.Incident{ID: "INC-2", Cause: vocab.CauseRoom, Subject: "yz-hall-1", Class: vocab.ClassMinor,
		Place: incident.Place{SubCenters: []string{"yz"}, Rooms: []string{"yz-hall-1", "yz-hall-2"}}}
	d := DataOf(room, city, &config.Runbook{Match: config.RunbookMatch{Roles: []string{"ws-gateway"}}})
	if d.Server != "yz-wsgw-1" || d.Room != "yz-hall-1" || d.Rooms.String() != "yz-hall-1 yz-hall-2" || d.SubCenter != "yz" || d.Class != "minor" || d.Cause != "room" {
		t.Errorf("DataOf = %+v", d)
	}
	got, err := render("url", "http://gw/{{.Server}}/rooms/{{.Rooms}}/{{range .Rooms}}[{{.}}]{{end}}", d)
	if err != nil || got != "http://gw/yz-wsgw-1/rooms/yz-hall-1 yz-hall-2/[yz-hall-1][yz-hall-2]" {
		t.Errorf("render = %q, %v", got, err)
	}
	if _, err := render("url", "{{.Nope}}", d); err == nil {
		t.Error("render of an unknown field: no error")
	}
}
