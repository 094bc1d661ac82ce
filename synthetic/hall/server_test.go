package hall

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches and parses a metrics endpoint.
func (th *testHall) scrape(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := th.srv.Client().Get(th.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return fams
}

// value is the value of a metric family's sample with label room=room
// ("" for an unlabelled metric).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name, room string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no %s", name)
	}
	for _, m := range f.GetMetric() {
		var got string
		for _, l := range m.GetLabel() {
			if l.GetName() == "room" {
				got = l.GetValue()
			}
		}
		if got == room {
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s{room=%q}", name, room)
	return 0
}

func TestServerMetricsAndHealth(t *testing.T) {
	th := startHall(t, Options{
		Servers: []string{"web-1", "ws-gw-1"},
		Rooms: []RoomSpec{
			{ID: "room-1", Servers: []string{"web-1", "ws-gw-1"}},
			{ID: "room-2", Servers: []string{"web-1"}},
		},
	})
	c, _ := th.join(t, "room-1", "p")
	c.nextType("event", wait)
	c.nextType("event", wait)

	def := th.scrape(t, "/metrics")
	baselines := map[string]float64{
		"hall_cpu_usage_percent": 18, "hall_memory_used_percent": 35,
		"hall_db_connections_used_percent": 22, "hall_disk_used_percent": 41,
	}
	for name, base := range baselines {
		if v := value(t, def, name, ""); v < base-noise || v > base+noise {
			t.Errorf("%s = %v, want about %v", name, v, base)
		}
	}
	if v := value(t, def, "hall_ws_connections", "room-1"); v != 1 {
		t.Errorf("hall_ws_connections{room-1} = %v", v)
	}
	// The counter moves once the write has returned, which can be just after
	// the client read the frame: poll, bounded.
	eventually(t, wait, "hall_events_sent_total{room-1} ≥ 2", func() bool {
		return value(t, th.scrape(t, "/metrics"), "hall_events_sent_total", "room-1") >= 2
	})
	value(t, def, "hall_ws_connections", "room-2") // web-1 hosts room-2

	gw := th.Server("ws-gw-1")
	cpu := 97.0
	if err := gw.SetHealth(Health{CPUPct: &cpu, Down: true}); err != nil {
		t.Fatal(err)
	}
	fams := th.scrape(t, "/servers/ws-gw-1/metrics")
	if v := value(t, fams, "hall_cpu_usage_percent", ""); v != 97 {
		t.Errorf("pushed-up cpu = %v, want 97", v)
	}
	if _, ok := fams["hall_ws_connections"]; !ok || len(fams["hall_ws_connections"].GetMetric()) != 1 {
		t.Errorf("ws-gw-1 should show room-1 only: %v", fams["hall_ws_connections"])
	}
	if v := value(t, th.scrape(t, "/metrics"), "hall_cpu_usage_percent", ""); v > 18+noise {
		t.Errorf("default server's cpu = %v: the fault leaked", v)
	}

	health := func(path string) (int, string) { return th.call(t, "GET", path, "") }
	for _, tt := range []struct {
		path string
		code int
		body string
	}{
		{"/healthz", 200, `{"status":"ok"}`},
		{"/servers/web-1/healthz", 200, `{"status":"ok"}`},
		{"/servers/ws-gw-1/healthz", 503, `{"status":"down"}`},
		{"/servers/nope/healthz", 404, `unknown server`},
		{"/servers/nope/metrics", 404, `unknown server`},
	} {
		if code, body := health(tt.path); code != tt.code || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s = %d %s, want %d %s", tt.path, code, body, tt.code, tt.body)
		}
	}
	gw.ClearHealth()
	if code, _ := health("/servers/ws-gw-1/healthz"); code != http.StatusOK {
		t.Errorf("after clear: %d", code)
	}
}

func TestHealthDurationExpires(t *testing.T) {
	th := startHall(t, Options{})
	s := th.Server("hall")
	if err := s.SetHealth(Health{Down: true, DurationMS: 100}); err != nil {
		t.Fatal(err)
	}
	if code, _ := th.call(t, "GET", "/healthz", ""); code != 503 {
		t.Fatalf("healthz = %d while down", code)
	}
	eventually(t, wait, "health fault expired", func() bool { return !s.Down() })
	if code, _ := th.call(t, "GET", "/healthz", ""); code != 200 {
		t.Fatalf("healthz = %d after expiry", code)
	}
	bad := 250.0
	if err := s.SetHealth(Health{MemPct: &bad}); !errors.Is(err, ErrBadHealth) {
		t.Fatalf("SetHealth(mem 250) = %v", err)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown server", Options{Servers: []string{"web-1"}, Rooms: []RoomSpec{{ID: "r", Servers: []string{"ws-gw-3"}}}},
			`rooms[0].servers[0]: unknown server "ws-gw-3"`},
		{"unknown server without servers", Options{Rooms: []RoomSpec{{ID: "r", Servers: []string{"web-1"}}}},
			`unknown server "web-1"`},
		{"duplicate room", Options{Rooms: []RoomSpec{{ID: "r"}, {ID: "r"}}}, `rooms[1].id: duplicate room "r"`},
		{"bad room id", Options{Rooms: []RoomSpec{{ID: "a/b"}}}, `rooms[0].id: bad room id "a/b"`},
		{"bad kind", Options{Rooms: []RoomSpec{{ID: "r", Kind: "lobby"}}}, `rooms[0].kind: unknown kind "lobby"`},
		{"duplicate server", Options{Servers: []string{"a", "a"}}, `servers[1]: duplicate server "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.opts)
			if err == nil {
				_ = h.Close()
				t.Fatal("New accepted bad options")
			}
			if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want %s", err, tt.want)
			}
		})
	}
}
