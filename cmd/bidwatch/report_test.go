package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/report"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// TestReportCommand writes a session's Samples into a real redis-server's
// roll-ups as the watchdog does, then makes October 2026's report of the
// example city in each format: the figures are the Samples' (900 s, 60 of
// them down), a date in a period picks it, a future period and an empty
// one say there is nothing to report, a scope naming no room is a usage
// error.
func TestReportCommand(t *testing.T) {
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	const prefix = "rt:"
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 10, 20, 9, 0, 0, 0, sh)
	var es []rollup.Entry
	for i := range 900 {
		s := &sample.Sample{Probe: "p1", Location: "yz", Session: "S-1020", Room: "yz-hall-1", Transport: "ws", Participant: "ws-1",
			Seq: uint64(i), WindowStart: start.Add(time.Duration(i) * time.Second), WindowMS: 1000}
		if i < 840 {
			s.Connected, s.ConnectedMS, s.RTTCount, s.RTTMedianMS = true, 1000, 1, 80
		}
		b, _ := json.Marshal(s)
		es = append(es, rollup.Entry{Sample: s, Raw: string(b)})
	}
	in := &rollup.Ingest{Prefix: prefix, Thresholds: rollup.Thresholds{DegradedRTT: 300 * time.Millisecond},
		RawRetention: 48 * time.Hour, RollupRetention: 400 * 24 * time.Hour}
	if err := in.Apply(context.Background(), rdb, es); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	base := []string{"report", "--config", "../../configs/example-city.yaml", "--redis", "redis://" + srv.Addr(), "--prefix", prefix}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		return execute(t, append(append([]string{}, base...), args...)...)
	}

	// JSON, by -o's extension.
	out := filepath.Join(dir, "2026-10.json")
	code, _, stderr := run("--period", "month", "--at", "2026-10-15", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	t.Logf("stderr: %s", stderr)
	if !strings.Contains(stderr, "wrote "+out) || !strings.Contains(stderr, "2026年10月 运维月报") {
		t.Errorf("stderr: %s", stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := report.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if rep.PeriodID != "2026-10" || rep.Sessions.Total != 1 || rep.Summary.ObservedMS != 900_000 || rep.Summary.DownMS != 60_000 {
		t.Errorf("report %s: %d sessions, observed %d down %d", rep.PeriodID, rep.Sessions.Total, rep.Summary.ObservedMS, rep.Summary.DownMS)
	}
	if got, want := float64(rep.Summary.Availability), 1-60.0/900; got != want {
		t.Errorf("availability %v, want %v", got, want)
	}
	if rep.Sessions.List[0].Outcome != report.OutcomeDisrupted || rep.Evidence == nil {
		t.Errorf("session %+v, evidence %+v", rep.Sessions.List[0], rep.Evidence)
	}

	// HTML to a file, CSV to standard output.
	html := filepath.Join(dir, "week.html")
	if code, _, stderr := run("--period", "week", "--at", "2026-10-20", "--scope", "room:yz-hall-1", "-o", html); code != 0 {
		t.Fatalf("html: exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(html)
	if !strings.Contains(string(b), "<h1>2026年第43周（10月19日—10月25日） 运维周报 — ") {
		t.Errorf("html: %.300s", b)
	}
	code, stdout, stderr := run("--from", "2026-10-01", "--to", "2026-10-31", "--format", "csv")
	if code != 0 || !strings.HasPrefix(stdout, "\uFEFF# 概要\n") || !strings.Contains(stdout, "yz-hall-1") {
		t.Errorf("csv: exit %d %s\n%.300s", code, stderr, stdout)
	}

	// Nothing to report: said, exit 0.
	code, _, stderr = run("--period", "year", "--at", "2099-06-01", "--format", "json", "-o", filepath.Join(dir, "future.json"))
	t.Logf("stderr: %s", stderr)
	if code != 0 || !strings.Contains(stderr, "nothing to report") || !strings.Contains(stderr, "尚未开始") {
		t.Errorf("future: exit %d: %s", code, stderr)
	}
	code, _, stderr = run("--period", "month", "--at", "2026-06", "-o", filepath.Join(dir, "june.html"))
	if code != 0 || !strings.Contains(stderr, "没有监测数据") {
		t.Errorf("empty: exit %d: %s", code, stderr)
	}

	// Usage errors.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scope", "room:nope"}, `no room is named "nope"`},
		{[]string{"--scope", "sub-center:xx"}, `no sub-center is named "xx"`},
		{[]string{"--format", "pdf"}, `"pdf" is not a format`},
		{[]string{"--from", "2026-10-01"}, "needs both --from and --to"},
		{[]string{"--period", "fortnight"}, `"fortnight" is not a period kind`},
		{[]string{"--at", "2026-02-30"}, "is not a date"},
	} {
		code, _, stderr := run(tc.args...)
		if code != 3 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d: %s", tc.args, code, stderr)
		}
	}
}
