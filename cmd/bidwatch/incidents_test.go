package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// TestIncidentsWorkflow walks one incident through the commands on-site
// staff and the center use: list, show, ack, note, resolve, sign off, and a
// refused edit of the frozen record, then export.
func TestIncidentsWorkflow(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	store := incident.NewRedisStore(rdb, "bidwatch:", config.DefaultWatchdog().Incidents)
	now := time.Now()
	inc, _, err := store.Open(context.Background(), correlate.Problem{
		Key: "room:yz-hall-1", Cause: vocab.CauseRoom, Subject: "yz-hall-1",
		SubCenters: []string{"yz"}, Rooms: []string{"yz-hall-1"}, Explains: []string{"yz-hall-1"}, Locations: []string{"yz", "gy"},
		Findings: []*detect.Finding{{Kind: vocab.KindDropout, Severity: vocab.SeverityCritical, Room: "yz-hall-1",
			Onset: now.Add(-2 * time.Second), FiredAt: now, Text: "3 bidders dropped"}},
		Kinds: []vocab.Kind{vocab.KindDropout}, Severity: vocab.SeverityCritical, Since: now.Add(-2 * time.Second), Page: true,
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	redisURL := "redis://" + mr.Addr()
	run := func(args ...string) (int, string, string) {
		return execute(t, append(args, "--redis", redisURL)...)
	}

	code, out, errOut := run("incidents", "list", "--json")
	if code != 0 || !strings.Contains(out, inc.ID) {
		t.Fatalf("list: exit %d, stdout %s, stderr %s", code, out, errOut)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 1 {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	steps := []struct {
		args []string
		code int
		want string // in stdout+stderr
	}{
		{[]string{"incidents", "show", inc.ID}, 0, "yz-hall-1"},
		{[]string{"incidents", "ack", inc.ID, "--by", "张工"}, 0, ""},
		{[]string{"incidents", "note", inc.ID, "gateway", "restarting", "--by", "张工"}, 0, ""},
		{[]string{"incidents", "signoff", inc.ID, "--by", "李主任"}, 1, ""}, // not resolved yet
		{[]string{"incidents", "resolve", inc.ID, "--result", "gateway restarted", "--by", "张工"}, 0, ""},
		{[]string{"incidents", "signoff", inc.ID, "--by", "交易中心 李主任"}, 0, ""},
		{[]string{"incidents", "note", inc.ID, "too", "late"}, 1, ""}, // frozen
		{[]string{"incidents", "show", "INC-999999"}, 1, ""},
		{[]string{"incidents", "show", inc.ID}, 0, "gateway restarted"},
		{[]string{"incidents", "export", "--format", "csv"}, 0, inc.ID},
	}
	for _, s := range steps {
		code, out, errOut := run(s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.want) {
			t.Errorf("%v: exit %d (want %d), output %q %q (want %q)", s.args, code, s.code, out, errOut, s.want)
		}
	}
	final, err := store.Get(context.Background(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != incident.StateSignedOff || final.SignedOffBy != "交易中心 李主任" {
		t.Errorf("state %s signed off by %q", final.State, final.SignedOffBy)
	}
	var actors []string
	for _, e := range final.Timeline {
		actors = append(actors, e.Actor+":"+e.Kind)
	}
	for _, want := range []string{"张工:acknowledged", "张工:note", "张工:resolved", "交易中心 李主任:signed_off"} {
		if !strings.Contains(strings.Join(actors, " "), want) {
			t.Errorf("timeline lacks %s: %v", want, actors)
		}
	}
}

// TestWatchdogCommandServesMetricsAndStops runs `bidwatch watchdog` against
// an embedded-style Redis for a moment: it must come up, serve /metrics and
// stop cleanly when its context ends.
func TestWatchdogCommandServesMetricsAndStops(t *testing.T) {
	mr := miniredis.RunT(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	root := newRootCmd(slog.New(slog.DiscardHandler))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"watchdog", "--config", "../../configs/demo.yaml", "--redis", "redis://" + mr.Addr(), "--listen", addr, "--id", "wd-test"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		break
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watchdog: %v\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("watchdog did not stop within 15 s of cancel")
	}
	if !strings.Contains(body, "bidwatch_watchdog_") {
		t.Errorf("no watchdog metrics served:\n%.500s\n%s", body, out.String())
	}
}
