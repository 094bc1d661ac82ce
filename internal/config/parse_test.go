package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFieldErrorFields(t *testing.T) {
	_, err := Parse([]byte("city: {id: x, name: y}\nrooms:\n  - evnts_url: x\n"))
	fes := fieldErrors(t, err)
	want := FieldError{Path: "rooms[0].evnts_url", Line: 3, Msg: "unknown key"}
	if *fes[0] != want {
		t.Errorf("first problem = %+v, want %+v", *fes[0], want)
	}
}

func TestParseValid(t *testing.T) {
	c, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Servers[0].Health); got != 2 {
		t.Fatalf("web-1 has %d health checks, want 2", got)
	}
	// The merge key (<<: *check) takes type and interval from the anchor;
	// what is written beside it wins.
	merged := c.Servers[0].Health[1]
	want := HealthCheck{
		Type: "http", URL: "https://web-1.example/ready",
		Interval: 30 * time.Second, Timeout: 5 * time.Second,
		ExpectStatus: 204, BodyMatch: "^ok$",
	}
	if !equalCheck(merged, want) {
		t.Errorf("merged check = %+v, want %+v", merged, want)
	}
	if got := c.Servers[1].Health[1].Metrics["db_conns_pct"]; got != "hall_db_connections_used_percent" {
		t.Errorf("metrics[db_conns_pct] = %q", got)
	}
	ws := c.Probe.WS
	if ws.Token.Reveal() != "s3cr3t-t0ken" || ws.Headers["X-Probe"] != "bidwatch" {
		t.Errorf("token or headers not decoded: %q %v", ws.Token.Reveal(), ws.Headers)
	}
	// Written zeros and empty strings stay: they mean "none".
	if ws.Join != "" || ws.SeqPointer != "" || ws.TickPeriod != 0 || c.Probe.Thresholds.StutterPct != 0 {
		t.Errorf("explicit zero values replaced by defaults: join %q seq_pointer %q tick_period %v stutter_pct %v",
			ws.Join, ws.SeqPointer, ws.TickPeriod, c.Probe.Thresholds.StutterPct)
	}
	if c.Probe.MissedPongs != 5 || ws.TSPointer != "/meta/ts~1ms" || ws.TSUnit != "ms" || ws.HeartbeatInterval != 20*time.Second {
		t.Errorf("probe values not decoded: %+v", c.Probe)
	}
	// Keys not written keep their defaults.
	if c.Probe.Window != time.Second || c.Probe.Thresholds.RTTCritical != time.Second || ws.StutterFactor != 2 {
		t.Errorf("defaults missing: %+v", c.Probe)
	}
}

func equalCheck(a, b HealthCheck) bool {
	if len(a.Metrics) != len(b.Metrics) {
		return false
	}
	for k, v := range a.Metrics {
		if b.Metrics[k] != v {
			return false
		}
	}
	a.Metrics, b.Metrics = nil, nil
	return a.Type == b.Type && a.URL == b.URL && a.Address == b.Address && a.Interval == b.Interval &&
		a.Timeout == b.Timeout && a.ExpectStatus == b.ExpectStatus && a.BodyMatch == b.BodyMatch
}

func TestShippedConfigs(t *testing.T) {
	for _, f := range []string{"../../configs/demo.yaml", "../../configs/example-city.yaml"} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			center, ok := c.Center()
			if !ok {
				t.Fatal("no center")
			}
			if n := len(c.SubCenters); n < 5 {
				t.Errorf("%d sub-centers, want the center and at least 4", n)
			}
			for _, r := range c.Rooms {
				if len(c.ServersOf(&r)) == 0 {
					t.Errorf("room %s depends on no server", r.ID)
				}
			}
			t.Logf("%s: center %s, %d sub-centers, %d rooms, %d servers", f, center.ID, len(c.SubCenters), len(c.Rooms), len(c.Servers))
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(`
city: {id: x, name: X}
sub_centers: [{id: c, name: C, kind: center}]
servers:
  - {id: s, name: S, role: web, sub_center: c, health: [{type: http, url: "http://s.example/"}, {type: tcp, address: "s.example:80"}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultProbe()
	got := c.Probe
	if got.Window != time.Second || got.PingInterval != time.Second || got.MissedPongs != 3 ||
		got.ConnectTimeout != 10*time.Second || got.ReconnectMin != 250*time.Millisecond ||
		got.ReconnectMax != 30*time.Second || got.ReadLimit != 1048576 {
		t.Errorf("probe defaults = %+v", got)
	}
	ws := got.WS
	if ws.Join != `{"type":"join","room":"{room}","participant":"{participant}"}` || ws.Heartbeat != "" ||
		ws.HeartbeatInterval != 0 || ws.SeqPointer != "/seq" || ws.TSPointer != "/ts" || ws.TSUnit != "auto" ||
		ws.TickPeriod != time.Second || ws.StutterFactor != 2 || ws.Token != "" || ws.Headers != nil {
		t.Errorf("ws defaults = %+v", ws)
	}
	if got.Thresholds != want.Thresholds || got.Thresholds != (Thresholds{
		RTTDegraded: 300 * time.Millisecond, RTTCritical: time.Second, StutterPct: 5,
		LagDegraded: time.Second, DownConnectedPct: 50, FirstFrameLate: 3 * time.Second,
	}) {
		t.Errorf("threshold defaults = %+v", got.Thresholds)
	}
	httpCheck, tcpCheck := c.Servers[0].Health[0], c.Servers[0].Health[1]
	if httpCheck.Interval != 15*time.Second || httpCheck.Timeout != 5*time.Second || httpCheck.ExpectStatus != 200 {
		t.Errorf("http check defaults = %+v", httpCheck)
	}
	if tcpCheck.Interval != 15*time.Second || tcpCheck.Timeout != 5*time.Second || tcpCheck.ExpectStatus != 0 {
		t.Errorf("tcp check defaults = %+v", tcpCheck)
	}
	if d := Defaults(); d.Probe.WS.TSUnit != "auto" || d.Validate() == nil {
		t.Errorf("Defaults() = %+v: want probe defaults and no city (invalid)", d)
	}
	if h := DefaultHealthCheck(HealthHTTP); h.ExpectStatus != 200 || h.Interval != 15*time.Second {
		t.Errorf("DefaultHealthCheck(http) = %+v", h)
	}
}

func TestExplicitZeroStays(t *testing.T) {
	tests := []struct {
		yaml  string
		check func(*Config) bool
	}{
		{"probe: {ws: {tick_period: 0}}", func(c *Config) bool { return c.Probe.WS.TickPeriod == 0 }},
		{"probe: {ws: {tick_period: 0s}}", func(c *Config) bool { return c.Probe.WS.TickPeriod == 0 }},
		{"probe: {ws: {seq_pointer: ''}}", func(c *Config) bool { return c.Probe.WS.SeqPointer == "" }},
		{"probe: {ws: {ts_pointer: ''}}", func(c *Config) bool { return c.Probe.WS.TSPointer == "" }},
		{"probe: {ws: {join: ''}}", func(c *Config) bool { return c.Probe.WS.Join == "" }},
		{"probe: {reconnect_min: 0s}", func(c *Config) bool { return c.Probe.ReconnectMin == 0 }},
		{"probe: {thresholds: {down_connected_pct: 0}}", func(c *Config) bool { return c.Probe.Thresholds.DownConnectedPct == 0 }},
		// A null leaves the default.
		{"probe: {ws: {tick_period: ~}}", func(c *Config) bool { return c.Probe.WS.TickPeriod == time.Second }},
		{"probe: {ws: {tick_period: }}", func(c *Config) bool { return c.Probe.WS.TickPeriod == time.Second }},
		{"probe:", func(c *Config) bool { return c.Probe.WS.TickPeriod == time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			c, err := Parse([]byte("city: {id: x, name: X}\n" + tt.yaml + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected probe settings %+v", c.Probe)
			}
		})
	}
}

func TestParseDocumentErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"", "no configuration (the document is empty)"},
		{"# only a comment\n", "no configuration (the document is empty)"},
		{"---\n", "no configuration (the document is empty)"},
		{"~\n", "no configuration (the document is empty)"},
		{"city\n", `line 1: want a mapping of city, sub_centers, servers, rooms and probe, got "city"`},
		{"city: *nowhere\n", "invalid YAML: unknown anchor 'nowhere' referenced"},
		{"city: {id: x, name: X}\n---\n", ""},
		{"city: {id: x, name: X}\nprobe: {<<: [1]}\n", `probe["<<"] (line 2): want a mapping or a list of mappings to merge, got "1"`},
		{"city: {id: x, name: X}\n? [a]\n: b\n", `line 2: want a string key, got a list`},
		{"city: {id: x, name: X}\nprobe: {read_limit: 99999999999999999999}\n", `probe.read_limit (line 2): cannot parse "99999999999999999999" as an integer`},
		{"city: {id: x, name: X}\nprobe: {missed_pongs: '3'}\n", `probe.missed_pongs (line 2): cannot parse "3" as an integer`},
		{"city: {id: x, name: X}\nprobe: {ws: {stutter_factor: .inf}}\n", `probe.ws.stutter_factor (line 2): want a finite number, got ".inf"`},
		{"city: {id: x, name: X}\nprobe: {ws: {token: [a]}}\n", `probe.ws.token (line 2): want a string, got a list`},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error does not match ErrInvalid")
				}
			}
			if got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAliasBomb checks that nested aliases cannot make decoding run away.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("city: {id: x, name: X}\na0: &a0 [{id: r}, {id: r}, {id: r}, {id: r}, {id: r}, {id: r}, {id: r}, {id: r}]\n")
	b.WriteString("rooms: &r [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\n")
	b.WriteString("servers: [")
	for i := range 2000 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{health: [{metrics: {a: b}}, {metrics: {a: b}}]}")
	}
	b.WriteString("]\n")
	start := time.Now()
	_, err := Parse([]byte(b.String()))
	if err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Parse took %v", d)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v: want a not-exist error that is not ErrInvalid", err)
	}
}

func TestValidateBuiltInCode(t *testing.T) {
	c := Defaults()
	c.City = City{ID: "x", Name: "X"}
	c.SubCenters = []SubCenter{{ID: "c", Name: "C", Kind: KindCenter}}
	c.Servers = []Server{{ID: "m", Name: "M", Role: RoleMedia, SubCenter: "c", Health: []HealthCheck{DefaultHealthCheck(HealthHTTP)}}}
	c.Servers[0].Health[0].URL = "http://m.example/healthz"
	c.Rooms = []Room{{ID: "r", Name: "R", Kind: RoomCoordination, SubCenter: "c", WHIPURL: "http://m.example/whip/r", Servers: []string{"m"}}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Rooms[0].Servers = append(c.Rooms[0].Servers, "ws-gw-3")
	err := c.Validate()
	if want := `rooms[0].servers[1]: unknown server "ws-gw-3"`; err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %s", err, want)
	}
}

// TestMergeBomb checks that merge keys merging mappings that merge others
// cannot make decoding run away either.
func TestMergeBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("city: {id: x, name: X}\nl0: &l0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "l%d: &l%d {<<: [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("probe: {<<: *l8}\n")
	start := time.Now()
	_, err := Parse([]byte(b.String()))
	if err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Parse took %v", d)
	}
}

func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("city: {id: x, name: X}\nrooms:\n")
	for range 100 {
		b.WriteString("  - {}\n")
	}
	_, err := Parse([]byte(b.String()))
	fes := fieldErrors(t, err)
	if len(fes) != maxProblems+1 {
		t.Fatalf("%d problems listed, want %d and a count", len(fes), maxProblems)
	}
	if got, want := fes[maxProblems].Error(), "and 300 more problems"; got != want {
		t.Errorf("last problem %q, want %q", got, want)
	}
}

func TestProbeWebRTC(t *testing.T) {
	good := `
probe:
  webrtc:
    ice_servers:
      - urls: ["stun:stun.jyzx.example:3478"]
      - urls: ["turn:turn.jyzx.example:3478?transport=udp"]
        username: bidwatch
        credential: s3cret
    token: abc
    no_media_timeout: 5s
`
	base := "city: {id: t, name: 测试}\nsub_centers: [{id: c, name: 中心, kind: center}]\n"
	c, err := Parse([]byte(base + good))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Probe.WebRTC
	if len(w.ICEServers) != 2 || w.ICEServers[1].Credential.Reveal() != "s3cret" || w.NoMediaTimeout != 5*time.Second || w.EchoInterval != 250*time.Millisecond {
		t.Errorf("parsed %+v", w)
	}
	bad := `
probe:
  webrtc:
    ice_servers:
      - urls: ["http://stun.example"]
      - urls: ["turn:turn.example"]
      - {}
    no_media_timeout: 0s
`
	_, err = Parse([]byte(base + bad))
	for _, want := range []string{
		`probe.webrtc.ice_servers[0].urls[0]: unknown scheme in "http://stun.example"`,
		`probe.webrtc.ice_servers[1]: a TURN server needs username and credential`,
		`probe.webrtc.ice_servers[2].urls: at least one stun: or turn: URL is required`,
		`probe.webrtc.no_media_timeout: must be positive, got 0s`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
