package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// TestIncidentsWorkflow walks one incident through the commands on-site
// staff and the center use, each acting as a console user through an API
// token: list, show, ack, note, resolve, sign off, a refused edit of the
// frozen record, then export; and the refusals of a missing, revoked or
// disabled user's token and of a role too low.
func TestIncidentsWorkflow(t *testing.T) {
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	store := incident.NewRedisStore(rdb, "bidwatch:", config.DefaultWatchdog().Incidents)
	now := time.Now()
	inc, _, err := store.Open(ctx, correlate.Problem{
		Key: "room:yz-hall-1", Cause: vocab.CauseRoom, Subject: "yz-hall-1",
		SubCenters: []string{"yz"}, Rooms: []string{"yz-hall-1"}, Explains: []string{"yz-hall-1"}, Locations: []string{"yz", "gy"},
		Findings: []*detect.Finding{{Kind: vocab.KindDropout, Severity: vocab.SeverityCritical, Room: "yz-hall-1",
			Onset: now.Add(-2 * time.Second), FiredAt: now, Text: "3 bidders dropped"}},
		Kinds: []vocab.Kind{vocab.KindDropout}, Severity: vocab.SeverityCritical, Since: now.Add(-2 * time.Second), Page: true,
	}, now)
	if err != nil {
		t.Fatal(err)
	}

	users := auth.NewStore(rdb, "bidwatch:")
	users.BcryptCost = bcrypt.MinCost
	dir := t.TempDir()
	tokenFile := func(name string, role auth.Role, display string) string {
		t.Helper()
		if _, err := users.AddUser(ctx, name, display, role, name+"-password"); err != nil {
			t.Fatal(err)
		}
		token, err := users.NewToken(ctx, name, "cli")
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name+".token")
		if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	zhang := tokenFile("zhang", auth.RoleOperator, "张工")
	li := tokenFile("li", auth.RoleSupervisor, "李主任")
	wang := tokenFile("wang", auth.RoleViewer, "")
	gone := tokenFile("gone", auth.RoleOperator, "")
	off := tokenFile("off", auth.RoleAdmin, "")
	if err := users.RevokeToken(ctx, "gone", "cli"); err != nil {
		t.Fatal(err)
	}
	if err := users.Disable(ctx, "off"); err != nil {
		t.Fatal(err)
	}
	zhangToken, _ := os.ReadFile(zhang)

	redisURL := srv.URL()
	t.Setenv("BIDWATCH_TOKEN", "")
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
		env  string // $BIDWATCH_TOKEN
		args []string
		code int
		want string // in stdout+stderr
	}{
		{"", []string{"incidents", "show", inc.ID}, 0, "yz-hall-1"},
		{"", []string{"incidents", "ack", inc.ID}, 1, "give --token-file FILE or set BIDWATCH_TOKEN"},
		{"", []string{"incidents", "ack", inc.ID, "--token-file", filepath.Join(dir, "nobody.token")}, 1, "--token-file"},
		{"", []string{"incidents", "ack", inc.ID, "--by", "张工"}, 3, "--by is gone: act as a user with an API token (bidwatch users token NAME)"},
		{"", []string{"incidents", "ack", inc.ID, "--token-file", wang}, 1, "wang is viewer: ack needs operator or above"},
		{"", []string{"incidents", "ack", inc.ID, "--token-file", gone}, 1, "unknown or revoked"},
		{"", []string{"incidents", "ack", inc.ID, "--token-file", off}, 1, "disabled"},
		{"bw_forged", []string{"incidents", "ack", inc.ID}, 1, "unknown or revoked"},
		{"", []string{"incidents", "ack", inc.ID, "--token-file", zhang}, 0, "by 张工 (zhang)"},
		{string(zhangToken), []string{"incidents", "note", inc.ID, "gateway", "restarting"}, 0, ""},
		{"", []string{"incidents", "signoff", inc.ID, "--token-file", li}, 1, ""}, // not resolved yet
		{"", []string{"incidents", "resolve", inc.ID, "--result", "gateway restarted", "--token-file", zhang}, 0, ""},
		{"", []string{"incidents", "signoff", inc.ID, "--token-file", zhang}, 1, "张工 (zhang) is operator: signoff needs supervisor or above"},
		{"", []string{"incidents", "signoff", inc.ID, "--token-file", li}, 0, ""},
		{"", []string{"incidents", "note", inc.ID, "too", "late", "--token-file", zhang}, 1, ""}, // frozen
		{"", []string{"incidents", "show", "INC-999999"}, 1, ""},
		{"", []string{"incidents", "show", inc.ID}, 0, "gateway restarted"},
		{"", []string{"incidents", "export", "--format", "csv"}, 0, inc.ID},
	}
	for _, s := range steps {
		t.Setenv("BIDWATCH_TOKEN", s.env)
		code, out, errOut := run(s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.want) {
			t.Errorf("%v: exit %d (want %d), output %q %q (want %q)", s.args, code, s.code, out, errOut, s.want)
		}
		for _, secret := range []string{string(zhangToken), "bw_forged"} {
			if strings.Contains(out+errOut, strings.TrimSpace(secret)) {
				t.Errorf("%v: the output holds a token: %q %q", s.args, out, errOut)
			}
		}
	}
	final, err := store.Get(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != incident.StateSignedOff || final.SignedOffBy != "李主任 (li)" {
		t.Errorf("state %s signed off by %q", final.State, final.SignedOffBy)
	}
	var actors []string
	for _, e := range final.Timeline {
		actors = append(actors, e.Actor+":"+e.Kind)
	}
	for _, want := range []string{"张工 (zhang):acknowledged", "张工 (zhang):note", "张工 (zhang):resolved", "李主任 (li):signed_off"} {
		if !strings.Contains(strings.Join(actors, " "), want) {
			t.Errorf("timeline lacks %s: %v", want, actors)
		}
	}
	if n := len(final.Timeline); strings.Contains(strings.Join(actors, " "), "wang") || strings.Contains(strings.Join(actors, " "), "gone") || n == 0 {
		t.Errorf("a refused action is in the timeline: %v", actors)
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
