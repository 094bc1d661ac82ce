package hall

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// call makes an admin request and returns the status and body.
func (th *testHall) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, th.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := th.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestAdminRoomFaults(t *testing.T) {
	th := startHall(t, Options{})
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string // substring of the response
	}{
		{"get healthy", "GET", "/admin/rooms/room-1/fault", "", 200, `{}`},
		{"set", "POST", "/admin/rooms/room-1/fault", `{"latency_ms":50,"jitter_ms":5,"loss_pct":2,"refuse":true}`, 200, `"latency_ms":50`},
		{"get set", "GET", "/admin/rooms/room-1/fault", "", 200, `"loss_pct":2`},
		{"list shows it", "GET", "/admin/rooms", "", 200, `"fault":{"latency_ms":50,"jitter_ms":5,"loss_pct":2,"refuse":true}`},
		{"unknown field", "POST", "/admin/rooms/room-1/fault", `{"latency":50}`, 400, `unknown field \"latency\" (known fields: latency_ms`},
		{"out of range", "POST", "/admin/rooms/room-1/fault", `{"loss_pct":150}`, 400, `loss_pct: 150 out of range`},
		{"wrong type", "POST", "/admin/rooms/room-1/fault", `{"drop":"yes"}`, 400, `drop: want a bool`},
		{"bad JSON", "POST", "/admin/rooms/room-1/fault", `{"latency_ms":`, 400, `malformed JSON`},
		{"empty body", "POST", "/admin/rooms/room-1/fault", ``, 400, `empty body`},
		{"trailing data", "POST", "/admin/rooms/room-1/fault", `{} {}`, 400, `trailing data`},
		{"rejected left it alone", "GET", "/admin/rooms/room-1/fault", "", 200, `"latency_ms":50`},
		{"unknown room", "POST", "/admin/rooms/room-9/fault", `{}`, 404, `unknown room \"room-9\"`},
		{"clear", "DELETE", "/admin/rooms/room-1/fault", "", 200, `{}`},
		{"all", "POST", "/admin/faults", `{"latency_ms":7}`, 200, `"id":"room-4","kind":"opening-hall","servers":["hall"],"conns":0`},
		{"all applied", "GET", "/admin/rooms/room-3/fault", "", 200, `{"latency_ms":7}`},
		{"all rejects", "POST", "/admin/faults", `{"silent":1}`, 400, `silent: want a bool`},
		{"clear all", "DELETE", "/admin/faults", "", 200, `"fault":{}`},
		{"cleared", "GET", "/admin/rooms/room-3/fault", "", 200, `{}`},
		{"wrong method", "PUT", "/admin/rooms/room-1/fault", `{}`, 405, ``},
		{"media faults share the object", "POST", "/admin/rooms/room-2/fault", `{"latency_ms":20,"packet_loss_pct":5,"kill_ice":true,"duration_ms":60000}`, 200, `"packet_loss_pct":5,"kill_ice":true`},
		{"media faults read back", "GET", "/admin/rooms/room-2/fault", "", 200, `"latency_ms":20,`},
		{"media fault out of range", "POST", "/admin/rooms/room-2/fault", `{"bitrate_pct":-1}`, 400, `bitrate_pct: -1`},
		{"media fault typo", "POST", "/admin/rooms/room-2/fault", `{"kill_ise":true}`, 400, `unknown field \"kill_ise\"`},
		{"media faults cleared", "DELETE", "/admin/rooms/room-2/fault", "", 200, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := th.call(t, tt.method, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, code, body, tt.code, tt.want)
			}
		})
	}
}

func TestAdminRoomList(t *testing.T) {
	th := startHall(t, Options{})
	th.join(t, "room-2", "p")
	code, body := th.call(t, "GET", "/admin/rooms", "")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var rooms []struct {
		ID    string `json:"id"`
		Kind  string `json:"kind"`
		Conns int    `json:"conns"`
		Seq   uint64 `json:"seq"`
		Fault Fault  `json:"fault"`
	}
	if err := json.Unmarshal([]byte(body), &rooms); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	if len(rooms) != 4 || rooms[1].ID != "room-2" || rooms[1].Conns != 1 || rooms[1].Kind != KindOpeningHall {
		t.Fatalf("rooms = %+v", rooms)
	}
}

func TestAdminServerHealth(t *testing.T) {
	th := startHall(t, Options{Servers: []string{"web-1", "ws-gw-1"}})
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"list", "GET", "/admin/servers", "", 200, `{"id":"web-1","rooms":["room-1","room-2","room-3","room-4"],"status":"ok","health":{}}`},
		{"set", "POST", "/admin/servers/ws-gw-1/health", `{"cpu_pct":97,"down":true}`, 200, `{"cpu_pct":97,"down":true}`},
		{"get", "GET", "/admin/servers/ws-gw-1/health", "", 200, `"cpu_pct":97`},
		{"listed down", "GET", "/admin/servers", "", 200, `"id":"ws-gw-1","rooms":[],"status":"down"`},
		{"out of range", "POST", "/admin/servers/ws-gw-1/health", `{"disk_pct":101}`, 400, `disk_pct: 101 out of range`},
		{"unknown field", "POST", "/admin/servers/ws-gw-1/health", `{"cpu":1}`, 400, `unknown field \"cpu\" (known fields: cpu_pct, mem_pct, db_conns_pct, disk_pct, down, duration_ms)`},
		{"unknown server", "GET", "/admin/servers/db-9/health", "", 404, `unknown server \"db-9\"`},
		{"clear", "DELETE", "/admin/servers/ws-gw-1/health", "", 200, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := th.call(t, tt.method, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, code, body, tt.code, tt.want)
			}
		})
	}
}
