package config

import (
	"slices"
	"testing"
)

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func TestLookups(t *testing.T) {
	c := DemoCity()

	r, ok := c.Room("jd-coord-1")
	if !ok || r.Kind != RoomCoordination || r.SubCenter != "jd" {
		t.Fatalf("Room(jd-coord-1) = %+v, %v", r, ok)
	}
	r.Name = "changed"
	if c.Rooms[4].Name != "changed" {
		t.Errorf("Room does not point into the config")
	}
	if _, ok := c.Room("nope"); ok {
		t.Errorf("Room(nope) found")
	}

	s, ok := c.Server("jd-media-1")
	if !ok || s.Role != RoleMedia {
		t.Errorf("Server(jd-media-1) = %+v, %v", s, ok)
	}
	if _, ok := c.Server(""); ok {
		t.Errorf("Server(\"\") found")
	}

	sc, ok := c.SubCenter("gy")
	if !ok || sc.Kind != KindSubCenter || sc.Name != "高邮市分中心" {
		t.Errorf("SubCenter(gy) = %+v, %v", sc, ok)
	}
	if center, ok := c.Center(); !ok || center.ID != "yz" {
		t.Errorf("Center() = %+v, %v", center, ok)
	}
	if _, ok := (&Config{}).Center(); ok {
		t.Errorf("empty config has a center")
	}

	roomID := func(r Room) string { return r.ID }
	serverID := func(s Server) string { return s.ID }
	if got, want := ids(c.RoomsOf("jd"), roomID), []string{"jd-hall-1", "jd-coord-1"}; !slices.Equal(got, want) {
		t.Errorf("RoomsOf(jd) = %v, want %v", got, want)
	}
	if got := c.RoomsOf("nope"); len(got) != 0 {
		t.Errorf("RoomsOf(nope) = %v", got)
	}
	room := Room{Servers: []string{"jd-db-1", "missing", "jd-web-1"}}
	if got, want := ids(c.ServersOf(&room), serverID), []string{"jd-db-1", "jd-web-1"}; !slices.Equal(got, want) {
		t.Errorf("ServersOf = %v, want %v", got, want)
	}
	if got, want := ids(c.RoomsUsing("gy-media-1"), roomID), []string{"gy-hall-1", "gy-coord-1"}; !slices.Equal(got, want) {
		t.Errorf("RoomsUsing(gy-media-1) = %v, want %v", got, want)
	}
}

func TestWSProtocolHelpers(t *testing.T) {
	ws := DefaultProbe().WS
	if got, want := ws.JoinMessage("jd-hall-1", "probe-a/1"), `{"type":"join","room":"jd-hall-1","participant":"probe-a/1"}`; got != want {
		t.Errorf("JoinMessage = %s, want %s", got, want)
	}
	ws.Heartbeat = `{"ping":"{room}"}`
	if got := ws.HeartbeatMessage("r", "p"); got != `{"ping":"r"}` {
		t.Errorf("HeartbeatMessage = %s", got)
	}
	if h := ws.Header(); len(h) != 0 {
		t.Errorf("Header() with no headers or token = %v", h)
	}
	ws.Headers = map[string]string{"x-probe": "bidwatch"}
	ws.Token = "tok"
	h := ws.Header()
	if h.Get("X-Probe") != "bidwatch" || h.Get("Authorization") != "Bearer tok" {
		t.Errorf("Header() = %v", h)
	}
}
