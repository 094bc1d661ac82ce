package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// TestRunbooksCommands runs a runbook by hand: a dry run asks nothing of
// the admin API; a real run calls it, the symptoms end, the attempt is
// verified and the incident mitigated; list shows the run; enable of an
// unknown runbook is refused.
func TestRunbooksCommands(t *testing.T) {
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	store := incident.NewRedisStore(rdb, "bidwatch:", config.DefaultWatchdog().Incidents)
	now := time.Now()
	inc, _, err := store.Open(ctx, correlate.Problem{
		Key: "room:jd-hall-1", Cause: vocab.CauseRoom, Subject: "jd-hall-1",
		SubCenters: []string{"jd"}, Rooms: []string{"jd-hall-1"}, Explains: []string{"jd-hall-1"}, Locations: []string{"yz"},
		Findings: []*detect.Finding{{Kind: vocab.KindLatency, Severity: vocab.SeverityCritical, Room: "jd-hall-1",
			Onset: now.Add(-2 * time.Second), FiredAt: now, Text: "events stalled"}},
		Kinds: []vocab.Kind{vocab.KindLatency}, Severity: vocab.SeverityCritical, Since: now.Add(-2 * time.Second), Page: true,
	}, now)
	if err != nil {
		t.Fatal(err)
	}

	// The hall's admin API: clearing the room ends the symptoms.
	var calls atomic.Int32
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/rooms/jd-hall-1/clear" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		calls.Add(1)
		_, _ = store.Change(r.Context(), inc.ID, incident.EventUpdated, func(i incident.Incident) (incident.Incident, error) {
			i.ClearingSince = time.Now()
			return i, nil
		})
		_, _ = w.Write([]byte(`{"cleared":"jd-hall-1"}`))
	}))
	t.Cleanup(admin.Close)

	yaml := strings.Replace(string(config.DemoYAML()), "redis:\n", "redis:\n  url: redis://"+srv.Addr()+"\n", 1)
	if !strings.Contains(yaml, srv.Addr()) {
		yaml += "\nredis:\n  url: redis://" + srv.Addr() + "\n"
	}
	yaml += `
remedy:
  runbooks:
    - name: clear-room
      match: {causes: [room]}
      steps:
        - name: clear
          http: {url: "` + admin.URL + `/admin/rooms/{{.Room}}/clear"}
          timeout: 5s
      verify_within: 10s
`
	file := filepath.Join(t.TempDir(), "city.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := executeIn(t, "", "runbooks", "run", "clear-room", "--incident", inc.ID, "--dry-run", "--config", file)
	if code != 0 || calls.Load() != 0 || !strings.Contains(out, "dry_run") {
		t.Fatalf("dry run: exit %d, %d calls\n%s%s", code, calls.Load(), out, errOut)
	}
	code, out, errOut = executeIn(t, "", "runbooks", "run", "clear-room", "--incident", inc.ID, "--config", file)
	if code != 0 || calls.Load() != 1 || !strings.Contains(out, "verified") {
		t.Fatalf("run: exit %d, %d calls\n%s%s", code, calls.Load(), out, errOut)
	}
	got, err := store.Get(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != incident.StateMitigated {
		t.Errorf("after a verified run the incident is %s, want mitigated; timeline:\n%v", got.State, got.Timeline)
	}
	code, out, _ = executeIn(t, "", "runbooks", "list", "--config", file)
	if code != 0 || !strings.Contains(out, "clear-room") || !strings.Contains(out, inc.ID) {
		t.Errorf("list: exit %d\n%s", code, out)
	}
	if code, _, _ = executeIn(t, "", "runbooks", "enable", "nope", "--config", file); code != 1 {
		t.Errorf("enable of an unknown runbook: exit %d, want 1", code)
	}
}
