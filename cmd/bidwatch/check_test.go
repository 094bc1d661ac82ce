package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bidwatch/bidwatch/synthetic"
	"github.com/bidwatch/bidwatch/synthetic/hall"
)

// execute runs the command line as main does and returns the exit code,
// stdout and stderr.
func execute(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	logger := slog.New(slog.DiscardHandler)
	root := newRootCmd(logger)
	root.SetArgs(args)
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	code := 0
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
			if ee.err != nil {
				stderr.WriteString(ee.err.Error())
			}
		} else {
			code = 3
			stderr.WriteString(err.Error())
		}
	}
	return code, stdout.String(), stderr.String()
}

func testHall(t *testing.T) (*hall.Hall, string) {
	t.Helper()
	// A fixed seed makes the loss faults' draws repeatable.
	h, err := hall.New(hall.Options{Period: 100 * time.Millisecond, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { h.Close(); srv.Close() })
	return h, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestCheckJSONVerdicts(t *testing.T) {
	tests := []struct {
		name     string
		fault    *hall.Fault
		args     []string
		wantCode int
		verdict  string
	}{
		{name: "healthy room", wantCode: 0, verdict: "ok"},
		{name: "slow room", fault: &hall.Fault{LatencyMS: 400}, wantCode: 1, verdict: "degraded"},
		{name: "room that stops answering", fault: &hall.Fault{Silent: true}, args: []string{"--ping", "100ms"}, wantCode: 2, verdict: "down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, base := testHall(t)
			if tc.fault != nil {
				if err := h.Room("room-1").SetFault(*tc.fault); err != nil {
					t.Fatal(err)
				}
			}
			args := append([]string{"check", "--duration", "2500ms", "--json", "--tick", "100ms"}, tc.args...)
			code, out, errOut := execute(t, append(args, base+"/rooms/room-1/events")...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr: %s\n%s", code, tc.wantCode, errOut, out)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
			}
			for _, k := range []string{"verdict", "connect_ms", "rtt_ms", "stutter", "dropouts", "reconnects", "samples", "error"} {
				if _, ok := got[k]; !ok {
					t.Errorf("JSON has no %q key: %s", k, out)
				}
			}
			for _, k := range []string{"p50", "p95", "max"} {
				if _, ok := got["rtt_ms"].(map[string]any)[k]; !ok {
					t.Errorf("rtt_ms has no %q: %s", k, out)
				}
			}
			for _, k := range []string{"count", "total_ms"} {
				if _, ok := got["stutter"].(map[string]any)[k]; !ok {
					t.Errorf("stutter has no %q: %s", k, out)
				}
			}
			if got["verdict"] != tc.verdict {
				t.Errorf("verdict %v, want %s", got["verdict"], tc.verdict)
			}
			if n, _ := got["periodic_events"].(float64); tc.wantCode == 0 && n < 10 {
				t.Errorf("periodic_events %v, want the hall's ticks", got["periodic_events"])
			}
		})
	}
}

// TestCheckPlainWebSocketServer: an RFC 6455 server that sends nothing of
// its own (this one echoes, so it sends back the join message), checked with
// the default --tick 1s. The room is up: the summary says no periodic event
// came and what to try, and does not count the silence as stutter.
func TestCheckPlainWebSocketServer(t *testing.T) {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			kind, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(kind, msg); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/live"

	code, out, errOut := execute(t, "check", "-d", "3500ms", "--json", url)
	if code != 0 {
		t.Errorf("exit code %d, want 0; stderr %s\n%s", code, errOut, out)
	}
	var got struct {
		Verdict        string
		Reasons        []string
		PeriodicEvents *int `json:"periodic_events"`
		Messages       int
		ConnectedPct   float64 `json:"connected_pct"`
		Stutter        synthetic.Episodes
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got.Verdict != "ok" || got.ConnectedPct < 90 || got.Stutter != (synthetic.Episodes{}) {
		t.Errorf("verdict %s, connected %.0f%%, stutter %+v; want ok, connected, no stutter", got.Verdict, got.ConnectedPct, got.Stutter)
	}
	if got.PeriodicEvents == nil || *got.PeriodicEvents != 0 || got.Messages != 1 {
		t.Errorf("periodic events %v, messages %d; want 0 and the echoed join", got.PeriodicEvents, got.Messages)
	}
	if len(got.Reasons) != 1 || !strings.HasPrefix(got.Reasons[0], "no periodic event arrived in ") || !strings.Contains(got.Reasons[0], "try --tick 0") {
		t.Errorf("reasons %q, want the note about periodic events", got.Reasons)
	}

	// With --tick 0 the user has said so: no note.
	code, out, _ = execute(t, "check", "-d", "1500ms", "-q", "--tick", "0", url)
	if code != 0 || strings.Contains(out, "periodic event arrived") || !strings.Contains(out, "verdict     OK") {
		t.Errorf("--tick 0: exit %d\n%s", code, out)
	}
}

func TestCheckTextSummary(t *testing.T) {
	h, base := testHall(t)
	if err := h.Room("room-2").SetFault(hall.Fault{LossPct: 20}); err != nil {
		t.Fatal(err)
	}
	code, out, _ := execute(t, "check", "-d", "2s", "--tick", "100ms", "-q", base+"/rooms/room-2/events")
	if code != 1 {
		t.Errorf("exit code %d, want 1 (degraded by loss)", code)
	}
	for _, want := range []string{"verdict     DEGRADED", "loss", "rtt         p50", "events ", "dropouts    0"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckNobodyListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, out, _ := execute(t, "check", "-d", "1500ms", "--json", "ws://"+addr+"/rooms/room-1/events")
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if !strings.Contains(out, `"verdict": "down"`) || !strings.Contains(out, "connection refused") {
		t.Errorf("want a down verdict naming the refusal:\n%s", out)
	}
}

func TestCheckUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("city: {id: x}\nrooms: [{id: r, evnts_url: x}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "wrong scheme", args: []string{"check", "http://127.0.0.1:1/rooms/a/events"}, want: "ws:// or wss://"},
		{name: "no argument", args: []string{"check"}, want: "one URL or room id"},
		{name: "bad flag", args: []string{"check", "--durration", "1s", "ws://x/"}, want: "unknown flag"},
		{name: "bad duration", args: []string{"check", "-d", "-1s", "ws://x/"}, want: "must be positive"},
		{name: "bad header", args: []string{"check", "-H", "nocolon", "ws://x/"}, want: `--header "nocolon"`},
		{name: "invalid config", args: []string{"check", "--config", bad, "r"}, want: "evnts_url"},
		{name: "missing config", args: []string{"check", "--config", filepath.Join(dir, "none.yaml"), "r"}, want: "none.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := execute(t, tc.args...)
			if code != 3 {
				t.Errorf("exit code %d, want 3", code)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q lacks %q", errOut, tc.want)
			}
		})
	}
}

func TestRoomFromURL(t *testing.T) {
	for in, want := range map[string]string{
		"ws://h/rooms/room-1/events":        "room-1",
		"wss://h/api/v2/rooms/yz-hall-3/ws": "yz-hall-3",
		"ws://h/live":                       "",
		"::":                                "",
	} {
		if got := roomFromURL(in); got != want {
			t.Errorf("roomFromURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckMediaJSON(t *testing.T) {
	h, base := testHall(t)
	httpBase := "http" + strings.TrimPrefix(base, "ws")
	tests := []struct {
		name     string
		args     []string
		fault    *hall.Fault
		wantCode int
	}{
		{name: "clean video", args: []string{"--whep", httpBase + "/rooms/room-1/whep"}, wantCode: 0},
		{name: "whep+ URL form", args: []string{"whep+" + httpBase + "/rooms/room-1/whep"}, wantCode: 0},
		{name: "lossy video", args: []string{"--whep", httpBase + "/rooms/room-2/whep"}, fault: &hall.Fault{}, wantCode: 1},
	}
	tests[2].fault.PacketLossPct = 20
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != nil {
				if err := h.Room("room-2").SetFault(*tc.fault); err != nil {
					t.Fatal(err)
				}
				defer h.Room("room-2").ClearFault()
			}
			code, out, errOut := execute(t, append([]string{"check", "-d", "3s", "--json"}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d; stderr %s\n%s", code, tc.wantCode, errOut, out)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			for _, k := range []string{"first_frame_ms", "fps", "freezes", "loss_pct", "jitter_ms", "rtt_ms", "dropouts", "reconnects", "verdict"} {
				if _, ok := got[k]; !ok {
					t.Errorf("no %q key: %s", k, out)
				}
			}
			if fps, _ := got["fps"].(float64); tc.wantCode == 0 && fps < 20 {
				t.Errorf("fps %v, want about 25", got["fps"])
			}
		})
	}
}

func TestCheckMediaUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--whip", "http://127.0.0.1:1/rooms/a/whip", "ws://127.0.0.1:1/rooms/a/events"}, "--whip needs --whep"},
		{[]string{"check", "--media", "room-1"}, "--media needs --config"},
		{[]string{"check", "--whep", "http://x/rooms/a/whep", "ws://x/"}, "either --whep or a URL"},
		{[]string{"check", "--whep", "ftp://x/rooms/a/whep"}, "ftp"},
	} {
		code, _, errOut := execute(t, tc.args...)
		if code != 3 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 3 and %q", tc.args, code, errOut, tc.want)
		}
	}
}
