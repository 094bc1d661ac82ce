package hall

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// slow is the load a saturated server puts on its rooms in these tests;
// fast is what a round trip takes on loopback without it, generously.
const (
	slow = 300 * time.Millisecond
	fast = 150 * time.Millisecond
)

// rtt pings c until a round trip completes and returns the last of n.
func rtt(t *testing.T, c *client, n int) time.Duration {
	t.Helper()
	var d time.Duration
	for i := range n {
		got, ok := c.ping(fmt.Sprintf("p%d-%d", time.Now().UnixNano(), i), wait)
		if !ok {
			t.Fatalf("no pong within %s", wait)
		}
		d = got
	}
	return d
}

func TestRestartServer(t *testing.T) {
	th := startHall(t, Options{
		Servers: []string{"web-1", "ws-gw-1"},
		Rooms: []RoomSpec{
			{ID: "room-1", Servers: []string{"web-1", "ws-gw-1"}},
			{ID: "room-2", Servers: []string{"web-1"}},
		},
	})
	gw := th.Server("ws-gw-1")
	cpu := 97.0
	if err := gw.SetHealth(Health{CPUPct: &cpu}); err != nil {
		t.Fatal(err)
	}
	if err := gw.SetLoad(Load{LatencyMS: float64(slow.Milliseconds())}); err != nil {
		t.Fatal(err)
	}
	if err := th.Room("room-1").SetFault(Fault{LossPct: 50}); err != nil {
		t.Fatal(err)
	}
	c1, _ := th.join(t, "room-1", "p1")
	c2, _ := th.join(t, "room-2", "p2")
	if d := rtt(t, c1, 1); d < slow {
		t.Fatalf("room-1 round trip %s on a saturated server, want ≥ %s", d, slow)
	}

	const gap = 500 * time.Millisecond
	if err := th.RestartServer("ws-gw-1", gap); err != nil {
		t.Fatal(err)
	}
	if err := c1.closed(wait); err == nil {
		t.Fatal("room-1's connection survived the restart")
	}
	// In the gap: the server is down and its rooms refuse; others are not.
	if code, body := th.call(t, "GET", "/servers/ws-gw-1/healthz", ""); code != http.StatusServiceUnavailable {
		t.Errorf("healthz in the restart gap = %d %s, want 503", code, body)
	}
	if _, resp, err := th.dial("room-1", nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial room-1 in the restart gap: %v, want 503", err)
	}
	if d := rtt(t, c2, 1); d >= fast {
		t.Errorf("room-2 (not on ws-gw-1) round trip %s", d)
	}

	// After the gap: participants reconnect to a healthy room.
	eventually(t, wait, "ws-gw-1 back up", func() bool { return !gw.Down() })
	c3, _ := th.join(t, "room-1", "p1")
	c3.nextType("event", wait)
	if d := rtt(t, c3, 2); d >= fast {
		t.Errorf("room-1 round trip %s after the restart, want < %s", d, fast)
	}
	if h := gw.Health(); h != (Health{}) {
		t.Errorf("health after restart = %+v", h)
	}
	if l := gw.Load(); l != (Load{}) {
		t.Errorf("load after restart = %+v", l)
	}
	if f := th.Room("room-1").Fault(); f != (Fault{}) {
		t.Errorf("room-1 fault after restart = %+v", f)
	}
	if n := gw.Restarts(); n != 1 {
		t.Errorf("Restarts = %d", n)
	}
	if v := value(t, th.scrape(t, "/servers/ws-gw-1/metrics"), "hall_server_restarts_total", ""); v != 1 {
		t.Errorf("hall_server_restarts_total = %v", v)
	}
	if v := value(t, th.scrape(t, "/metrics"), "hall_server_restarts_total", ""); v != 0 {
		t.Errorf("web-1's hall_server_restarts_total = %v", v)
	}
}

func TestClearRoom(t *testing.T) {
	th := startHall(t, Options{})
	r := th.Room("room-1")
	c, _ := th.join(t, "room-1", "p")
	c.nextType("event", wait)
	if err := r.SetFault(Fault{Silent: true, StallMS: 60_000}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * th.Period()) // a frame in flight may still arrive
	c.drain()
	select {
	case m := <-c.msgs:
		t.Fatalf("a silent room sent %+v", m)
	case <-time.After(5 * th.Period()):
	}
	if err := r.SetFault(Fault{Silent: true, Refuse: true}); err != nil {
		t.Fatal(err)
	}
	if _, resp, err := th.dial("room-1", nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial a refusing room: %v", err)
	}

	if err := th.ClearRoom("room-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.closed(wait); err == nil {
		t.Fatal("the stuck connection survived the clear")
	}
	if f := r.Fault(); f != (Fault{}) {
		t.Errorf("fault after clear = %+v", f)
	}
	c2, joined := th.join(t, "room-1", "p")
	ev := c2.nextType("event", wait)
	if ev.Seq != joined.Seq+1 {
		t.Errorf("first event after rejoin seq %d, joined at %d", ev.Seq, joined.Seq)
	}
	c2.nextType("event", wait)

	if err := th.ClearRoom("nope"); !errors.Is(err, ErrUnknownRoom) {
		t.Errorf("ClearRoom(nope) = %v", err)
	}
}

// roleHall is a hall that knows its servers' roles: two rooms on media-1.
func roleHall(t *testing.T) *testHall {
	return startHall(t, Options{
		Servers: []string{"web-1", "gw-1", "media-1", "media-2"},
		Roles:   map[string]string{"web-1": "web", "gw-1": "ws-gateway", "media-1": MediaRole, "media-2": MediaRole},
		Rooms: []RoomSpec{
			{ID: "room-1", Servers: []string{"web-1", "gw-1", "media-1"}},
			{ID: "room-2", Servers: []string{"web-1", "gw-1", "media-1"}},
			{ID: "room-3", Servers: []string{"web-1"}},
		},
	})
}

func TestMoveRoom(t *testing.T) {
	th := roleHall(t)
	m1 := th.Server("media-1")
	if err := m1.SetLoad(Load{LatencyMS: float64(slow.Milliseconds())}); err != nil {
		t.Fatal(err)
	}
	c1, _ := th.join(t, "room-1", "p1")
	c2, _ := th.join(t, "room-2", "p2")
	if d := rtt(t, c1, 1); d < slow {
		t.Fatalf("room-1 round trip %s on a saturated media server, want ≥ %s", d, slow)
	}

	if err := th.MoveRoom("room-1", "media-2"); err != nil {
		t.Fatal(err)
	}
	// The frames queued before the move keep their delay; the next do not.
	if d := rtt(t, c1, 2); d >= fast {
		t.Errorf("room-1 round trip %s after the move, want < %s", d, fast)
	}
	if d := rtt(t, c2, 1); d < slow {
		t.Errorf("room-2, still on media-1: round trip %s, want ≥ %s", d, slow)
	}
	if l := m1.Load(); l.LatencyMS != float64(slow.Milliseconds()) {
		t.Errorf("media-1's load = %+v after the move: it should stay saturated", l)
	}
	select {
	case <-c1.done:
		t.Errorf("the move dropped room-1's connection: %v", c1.err)
	default:
	}

	if got, want := th.Room("room-1").Servers(), []string{"web-1", "gw-1", "media-2"}; !slices.Equal(got, want) {
		t.Errorf("room-1 servers = %v, want %v", got, want)
	}
	if got := m1.Rooms(); !slices.Equal(got, []string{"room-2"}) {
		t.Errorf("media-1 rooms = %v", got)
	}
	if got := th.Server("media-2").Rooms(); !slices.Equal(got, []string{"room-1"}) {
		t.Errorf("media-2 rooms = %v", got)
	}
	value(t, th.scrape(t, "/servers/media-2/metrics"), "hall_ws_connections", "room-1")
	_, body := th.call(t, "GET", "/admin/rooms", "")
	if !strings.Contains(body, `{"id":"room-1","kind":"opening-hall","servers":["web-1","gw-1","media-2"]`) {
		t.Errorf("GET /admin/rooms = %s", body)
	}
}

func TestMoveRoomRefused(t *testing.T) {
	th := roleHall(t)
	tests := []struct {
		room, from, to string
		want           error
		msg            string
	}{
		{"nope", "", "media-2", ErrUnknownRoom, `unknown room`},
		{"room-1", "", "media-9", ErrUnknownServer, `unknown server "media-9"`},
		{"room-1", "media-9", "media-2", ErrUnknownServer, `unknown server "media-9"`},
		{"room-1", "", "gw-1", ErrNotPossible, `server "gw-1" is a ws-gateway server, not a media server`},
		{"room-1", "", "media-1", ErrNotPossible, `on server "media-1" already`},
		{"room-3", "", "media-2", ErrNotPossible, `no media server`},
		{"room-1", "gw-1", "media-2", ErrNotPossible, `"gw-1" is a ws-gateway server, not the room's media server`},
		{"room-3", "media-1", "media-2", ErrNotPossible, `not on server "media-1"`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s from %q to %s", tt.room, tt.from, tt.to), func(t *testing.T) {
			err := th.MoveRoomFrom(tt.room, tt.from, tt.to)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("MoveRoomFrom = %v, want %v containing %s", err, tt.want, tt.msg)
			}
		})
	}
	if got := th.Room("room-1").Servers(); !slices.Equal(got, []string{"web-1", "gw-1", "media-1"}) {
		t.Errorf("a refused move changed room-1's servers: %v", got)
	}
}

func TestMoveRoomWithoutRoles(t *testing.T) {
	th := startHall(t, Options{
		Servers: []string{"a", "b", "c"},
		Rooms: []RoomSpec{
			{ID: "one", Servers: []string{"a"}},
			{ID: "two", Servers: []string{"a", "b"}},
		},
	})
	// Any server will do; a room on one server leaves it.
	if err := th.MoveRoom("one", "b"); err != nil {
		t.Fatal(err)
	}
	if got := th.Room("one").Servers(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("one's servers = %v", got)
	}
	// Which of two servers to replace must be named.
	if err := th.MoveRoom("two", "c"); !errors.Is(err, ErrNotPossible) || !strings.Contains(err.Error(), `name the one to replace with "from"`) {
		t.Fatalf("MoveRoom(two) = %v", err)
	}
	if err := th.MoveRoomFrom("two", "a", "c"); err != nil {
		t.Fatal(err)
	}
	if got := th.Room("two").Servers(); !slices.Equal(got, []string{"c", "b"}) {
		t.Errorf("two's servers = %v", got)
	}
	if got := th.Server("a").Rooms(); len(got) != 0 {
		t.Errorf("a still hosts %v", got)
	}
}

func TestRemedyAdminAPI(t *testing.T) {
	th := roleHall(t)
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"restart unknown", "POST", "/admin/servers/nope/restart", "", 404, `{"error":"unknown server \"nope\""}`},
		{"restart bad down", "POST", "/admin/servers/gw-1/restart", `{"down_ms":-1}`, 400, `down_ms: -1 out of range`},
		{"restart unknown field", "POST", "/admin/servers/gw-1/restart", `{"down":5}`, 400, `unknown field \"down\" (known fields: down_ms)`},
		{"restart malformed", "POST", "/admin/servers/gw-1/restart", `{`, 400, `malformed JSON`},
		{"restart", "POST", "/admin/servers/gw-1/restart", "", 200,
			`{"id":"gw-1","rooms":["room-1","room-2"],"role":"ws-gateway","status":"ok","health":{},"restarts":1}`},
		{"restart with a gap", "POST", "/admin/servers/gw-1/restart", `{"down_ms":60000}`, 200, `"status":"down","health":{},"restarts":2}`},
		{"listed", "GET", "/admin/servers", "", 200, `"role":"ws-gateway","status":"down","health":{},"restarts":2}`},
		{"restart ends the gap", "POST", "/admin/servers/gw-1/restart", `{}`, 200, `"status":"ok","health":{},"restarts":3}`},

		{"move unknown room", "POST", "/admin/rooms/nope/move", `{"media":"media-2"}`, 404, `unknown room \"nope\"`},
		{"move unknown server", "POST", "/admin/rooms/room-1/move", `{"media":"media-9"}`, 404, `unknown server \"media-9\"`},
		{"move empty", "POST", "/admin/rooms/room-1/move", "", 400, `empty body`},
		{"move without media", "POST", "/admin/rooms/room-1/move", `{}`, 400, `\"media\" is required`},
		{"move bad field", "POST", "/admin/rooms/room-1/move", `{"server":"media-2"}`, 400, `known fields: media, from`},
		{"move to a gateway", "POST", "/admin/rooms/room-1/move", `{"media":"gw-1"}`, 409, `not a media server`},
		{"move to its server", "POST", "/admin/rooms/room-1/move", `{"media":"media-1"}`, 409, `already`},
		{"move", "POST", "/admin/rooms/room-1/move", `{"media":"media-2"}`, 200,
			`{"id":"room-1","kind":"opening-hall","servers":["web-1","gw-1","media-2"],"conns":0,`},
		{"moved back", "POST", "/admin/rooms/room-1/move", `{"media":"media-1","from":"media-2"}`, 200, `"servers":["web-1","gw-1","media-1"]`},

		{"clear unknown", "POST", "/admin/rooms/nope/clear", "", 404, `unknown room`},
		{"clear", "POST", "/admin/rooms/room-2/clear", "", 200, `{"id":"room-2","kind":"opening-hall","servers":["web-1","gw-1","media-1"],"conns":0,`},

		{"load", "POST", "/admin/servers/media-1/load", `{"latency_ms":250}`, 200, `{"latency_ms":250}`},
		{"load listed", "GET", "/admin/servers", "", 200, `"status":"ok","health":{},"load":{"latency_ms":250}}`},
		{"load read", "GET", "/admin/servers/media-1/load", "", 200, `{"latency_ms":250}`},
		{"load out of range", "POST", "/admin/servers/media-1/load", `{"latency_ms":90000}`, 400, `latency_ms: 90000 out of range`},
		{"load cleared", "DELETE", "/admin/servers/media-1/load", "", 200, `{}`},
		{"load unknown server", "GET", "/admin/servers/nope/load", "", 404, `unknown server`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := th.call(t, tt.method, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, code, body, tt.code, tt.want)
			}
			if !json.Valid([]byte(body)) {
				t.Fatalf("answer is not JSON: %s", body)
			}
		})
	}
}

func TestRolesValidated(t *testing.T) {
	h, err := New(Options{Servers: []string{"a"}, Roles: map[string]string{"a": "web", "z": MediaRole}})
	if err == nil {
		_ = h.Close()
		t.Fatal("New accepted a role for an unknown server")
	}
	if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), `roles[z]: unknown server "z"`) {
		t.Fatalf("New = %v", err)
	}
}
