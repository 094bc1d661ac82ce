package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall/drill"
	"github.com/bidwatch/bidwatch/watchdog/drills"
	"github.com/bidwatch/bidwatch/watchdog/scenario"
)

// TestDrillsRecordedByHall plays a drill with `bidwatch hall --drill
// --redis`, then lists and reports it with `bidwatch drills`.
func TestDrillsRecordedByHall(t *testing.T) {
	srv := bustest.StartRedis(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "drill.yaml")
	if err := os.WriteFile(script, []byte(`
name: 线路演练
drills:
  - name: "path gy congested: +200 ms"
    hold: 300ms
    faults: [{path: gy, delay: 200ms}]
  - name: room-2 lags
    hold: 200ms
    faults: [{room: room-2, latency_ms: 300}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCmd(slog.New(slog.DiscardHandler))
	root.SetArgs([]string{"hall", "--listen", "127.0.0.1:0", "--no-media", "--path", "gy=127.0.0.1:0", "--drill", script, "--redis", srv.URL(), "--prefix", "t:"})
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
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hall did not stop within 10 s")
	}
	m := regexp.MustCompile(`drill run (\d{8}-\d{6}-[0-9a-f]{4}) recorded`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no run id in:\n%s", out.String())
	}
	id := m[1]

	code, stdout, stderr := execute(t, "drills", "list", "--redis", srv.URL(), "--prefix", "t:")
	if code != 0 || !strings.Contains(stdout, id) || !strings.Contains(stdout, "finished") || !strings.Contains(stdout, "2/2") || !strings.Contains(stdout, "线路演练") {
		t.Errorf("drills list: %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = execute(t, "drills", "report", "--format", "json", "--redis", srv.URL(), "--prefix", "t:")
	if code != 0 {
		t.Fatalf("drills report: %d %s", code, stderr)
	}
	var sc drills.Scorecard
	if err := json.Unmarshal([]byte(stdout), &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Run.ID != id || len(sc.Drills) != 2 || sc.Drills[0].Drill.Faults[0].Target != "gy" || !sc.Drills[1].Drill.Injected() {
		t.Errorf("report: %+v", sc)
	}
	// No watchdog ran, and the report is made within the detection
	// target: nothing is due yet, nothing scored.
	if sc.Max != 0 || sc.Drills[0].Steps[0].Verdict != drills.Pending || len(sc.Drills[0].Problems) != 0 {
		t.Errorf("score %d of %g, steps %+v, problems %+v", sc.Score, sc.Max, sc.Drills[0].Steps, sc.Drills[0].Problems)
	}
	html := filepath.Join(dir, "drill.html")
	code, _, stderr = execute(t, "drills", "report", id, "-o", html, "--redis", srv.URL(), "--prefix", "t:")
	if data, err := os.ReadFile(html); code != 0 || err != nil || !strings.Contains(string(data), "应急演练报告 — 线路演练") {
		t.Errorf("report to a file: %d %v %s", code, err, stderr)
	}
	if !strings.Contains(stderr, "score 0 (无可评分项), written to "+html) {
		t.Errorf("stderr %q", stderr)
	}
	if code, _, stderr := execute(t, "drills", "report", "nope", "--redis", srv.URL(), "--prefix", "t:"); code != 1 || !strings.Contains(stderr, `drill run "nope": no such drill run`) {
		t.Errorf("unknown run: %d %s", code, stderr)
	}
	if code, _, stderr := execute(t, "drills", "report", "--format", "pdf", "--redis", srv.URL()); code != 3 || !strings.Contains(stderr, "want html, json or csv") {
		t.Errorf("bad format: %d %s", code, stderr)
	}
	if code, _, stderr := execute(t, "drills", "report", "--redis", srv.URL(), "--prefix", "empty:"); code != 1 || !strings.Contains(stderr, "no drill recorded yet") {
		t.Errorf("nothing recorded: %d %s", code, stderr)
	}
}

// TestDemoDrillsScored scores the demo's drill script against the
// incidents the watchdog's decisions raise for it on simulated time (as
// TestDemoDrillsOnSimulatedTime plays it): every drill is detected within
// its target and blamed on what the script expects, relapses reopen, and
// no incident is left unexplained. Nobody acknowledges in a simulation and
// no alert is sent: those steps are missed, and the report says so.
func TestDemoDrillsScored(t *testing.T) {
	script, err := drill.Demo()
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Parse([]byte(drillScenario(t, script)), ".", "demo drills", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o, err := scenario.Run(ctx, s, scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start, err := time.Parse(time.RFC3339, s.File.Start)
	if err != nil {
		t.Fatal(err)
	}
	city := s.City
	run := drills.NewRun("sim", script, "demo", "simulation", start, city)
	for i, sp := range script.Timeline() {
		run = run.Apply(drill.Event{Kind: drill.Started, Index: i, Drill: script.Drills[i], At: start.Add(sp.Start), Planned: sp.Start})
		run = run.Apply(drill.Event{Kind: drill.Stopped, Index: i, Drill: script.Drills[i], At: start.Add(sp.End), Planned: sp.End})
	}
	run = run.Apply(drill.Event{Kind: drill.Finished, Index: -1, At: start.Add(script.Length())})
	targets := config.DefaultReports().Drill
	sc := drills.Score(run, o.Incidents, targets, drills.DefaultGrace, start.Add(script.Length()+time.Hour))
	for _, ds := range sc.Drills {
		if ds.Cause != drills.Met || ds.Steps[0].Verdict != drills.Met || ds.Primary == nil {
			t.Errorf("drill %d %s: cause %s, detect %+v, incidents %+v, problems %+v", ds.Drill.Index, ds.Drill.Title, ds.Cause, ds.Steps[0], ds.Incidents, ds.Problems)
			continue
		}
		if ds.Steps[3].Verdict != drills.Met || ds.Steps[4].Verdict != drills.Met {
			t.Errorf("drill %d: resolved %+v, SLA %+v", ds.Drill.Index, ds.Steps[3], ds.Steps[4])
		}
		for _, p := range ds.Problems {
			if p.Kind == drills.ProblemNoRelapse || p.Kind == drills.ProblemWrongPlace || p.Kind == drills.ProblemWrongCause {
				t.Errorf("drill %d: %s", ds.Drill.Index, p.Text)
			}
		}
	}
	if len(sc.Unexplained) > 0 {
		t.Errorf("unexplained incidents: %+v", sc.Unexplained)
	}
	var b strings.Builder
	_ = sc.WriteCSV(&b)
	t.Logf("score %d (%s)\n%s", sc.Score, sc.Grade, b.String())
}
