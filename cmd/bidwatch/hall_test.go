package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHallPathsAndDrill serves a hall with two network paths and a short
// drill script, the way a drill with separate processes starts it.
func TestHallPathsAndDrill(t *testing.T) {
	script := filepath.Join(t.TempDir(), "drill.yaml")
	if err := os.WriteFile(script, []byte(`
drills:
  - name: "path gy congested: +200 ms"
    hold: 1s
    pause: 200ms
    faults: [{path: gy, delay: 200ms}]
  - name: room-2 lags
    hold: 500ms
    faults: [{room: room-2, latency_ms: 300}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCmd(slog.New(slog.DiscardHandler))
	root.SetArgs([]string{"hall", "--listen", "127.0.0.1:0", "--no-media", "--path", "yz=127.0.0.1:0", "--path", "gy=127.0.0.1:0", "--drill", script})
	root.SetOut(&out)
	root.SetErr(&out)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	deadline := time.After(15 * time.Second)
	for !strings.Contains(out.String(), "drill script finished") {
		select {
		case err := <-done:
			t.Fatalf("hall ended early: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("the drill did not finish within 15 s:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	text := out.String()
	for _, want := range []string{
		"network paths: agents there use bidwatch probe --via ADDR",
		"drill " + script + ": 2 drills, 1.7s in all, the first in 0s",
		"▶ DRILL path gy congested: +200 ms (for 1s)",
		"■ DRILL over: path gy congested — the watchdog should resolve it",
		"▶ DRILL room-2 lags (for 500ms)",
		"■ DRILL over: room-2 lags",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	hallAddr := regexp.MustCompile(`bidwatch hall on http://(127\.0\.0\.1:\d+)`).FindStringSubmatch(text)
	gyAddr := regexp.MustCompile(`\n  gy +(127\.0\.0\.1:\d+)\n`).FindStringSubmatch(text)
	if hallAddr == nil || gyAddr == nil {
		t.Fatalf("no hall or path address in:\n%s", text)
	}
	// The path leads to the hall: its admin API answers through it, and
	// the drill left the path as it found it.
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + gyAddr[1] + "/admin/paths")
	if err != nil {
		t.Fatal(err)
	}
	var paths []struct {
		Location string  `json:"location"`
		Addr     string  `json:"addr"`
		DelayMS  float64 `json:"delay_ms"`
		Cut      bool    `json:"cut"`
	}
	err = json.NewDecoder(resp.Body).Decode(&paths)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 || paths[1].Location != "gy" || paths[1].Addr != gyAddr[1] || paths[1].DelayMS != 0 || paths[0].Location != "yz" {
		t.Errorf("paths after the drill: %+v", paths)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hall did not stop within 10 s")
	}
	if !strings.Contains(out.String(), "hall: shutting down") {
		t.Errorf("no shutdown line:\n%s", out.String())
	}
}

func TestHallBadPathsAndDrills(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("drills:\n  - name: x\n    hold: 10\n    faults: [{room: room-1, drop: true}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unfit := filepath.Join(dir, "unfit.yaml")
	if err := os.WriteFile(unfit, []byte("drills:\n  - {name: x, hold: 10s, faults: [{path: gy, cut: true}, {room: yz-hall-1, drop: true}]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"hall", "--listen", "127.0.0.1:0", "--no-media", "--log-level", "error"}
	tests := []struct {
		name string
		args []string
		code int
		want string // stderr, exactly, or its first line with …
	}{
		{"path without address", []string{"--path", "gy"}, 3, "--path gy: want LOCATION=HOST:PORT, like gy=127.0.0.1:7402"},
		{"path address without port", []string{"--path", "gy=127.0.0.1"}, 3, `--path gy=127.0.0.1: "127.0.0.1" is not HOST:PORT`},
		{"bad location", []string{"--path", "Gao You=127.0.0.1:0"}, 3, `--path Gao You=127.0.0.1:0: bad path: location "Gao You": invalid id (want at most 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit)`},
		{"duplicate location", []string{"--path", "gy=127.0.0.1:0", "--path", "gy=127.0.0.1:0"}, 3, `--path gy=127.0.0.1:0: bad path: duplicate location "gy" (its path is on 127.0.0.1:…`},
		{"drill file missing", []string{"--drill", filepath.Join(dir, "none.yaml")}, 2, "load drill script: open " + filepath.Join(dir, "none.yaml") + ": no such file or directory"},
		{"drill file invalid", []string{"--drill", bad}, 3, "--drill " + bad + ":\ndrills[0].hold (line 3): cannot parse \"10\" as a duration (like 90s or 1m30s)"},
		{"drill does not fit", []string{"--drill", unfit}, 3, "--drill " + unfit + " does not fit this hall:\n" +
			`drills[0].faults[0].path (line 2): no network path from "gy" (the hall has none)` + "\n" +
			`drills[0].faults[1].room (line 2): unknown room "yz-hall-1"`},
		{"demo drill without the demo city", []string{"--drill", "demo"}, 3, "--drill demo does not fit this hall:\ndrills[0].faults[0].server (line 21): unknown server \"jd-media-1\"\n…"},
		{"demo drill without the paths", []string{"--drill", "demo", "--config", "../../configs/demo.yaml"}, 3, "--drill demo does not fit this hall:\ndrills[1].faults[0].path (line 36): no network path from \"gy\" (the hall has none)\ndrills[4].faults[0].path (line 81): no network path from \"gy\" (the hall has none)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := execute(t, append(base, tt.args...)...)
			ok := errOut == tt.want
			if prefix, cut := strings.CutSuffix(tt.want, "…"); cut {
				ok = strings.HasPrefix(errOut, prefix)
			}
			if code != tt.code || !ok {
				t.Errorf("exit %d, stderr:\n%s\nwant %d:\n%s", code, errOut, tt.code, tt.want)
			}
		})
	}
}
