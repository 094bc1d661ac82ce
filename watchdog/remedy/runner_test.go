package remedy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// A runbook whose call fixes the fault: the incident is mitigated, and every
// step is in its timeline.
func TestRunbookFixes(t *testing.T) {
	g := newRig(t, config.Remedy{})
	g.city.Remedy.Runbooks = []config.Runbook{g.runbook("restart-gateway", 5*time.Second)}
	g.fix.Store(true)
	r, _ := g.start()
	inc := g.open("yz-wsgw-1")

	a := g.ended(inc.ID, "restart-gateway")
	if a.State != AttemptVerified || len(a.Steps) != 2 || !a.Steps[0].OK || !a.Steps[1].OK || a.Steps[0].Ended.IsZero() {
		t.Fatalf("attempt = %+v; want verified, both steps done", a)
	}
	if !strings.Contains(a.Steps[0].Output, "200 OK") || !strings.Contains(a.Steps[0].Output, "restarted for "+inc.ID) {
		t.Errorf("the restart's output: %q", a.Steps[0].Output)
	}
	if n := g.calls.Load(); n != 1 {
		t.Errorf("the admin API was called %d times, want 1", n)
	}
	got := g.get(inc.ID)
	if got.State != incident.StateMitigated {
		t.Errorf("incident is %s, want mitigated", got.State)
	}
	lines := remedyLines(got, "restart-gateway")
	for _, want := range []string{
		"remedy: started on server:yz-wsgw-1: 2 steps",
		"remedy: step 1/2 restart: POST " + g.admin.URL + "/restart/yz-wsgw-1/" + inc.ID + " → ok",
		"remedy: step 2/2 settle: wait 20ms for the probes → ok",
		"mitigated: verified: the probes see the symptoms gone",
	} {
		if !hasLine(lines, want) {
			t.Errorf("timeline lacks %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	if strings.Contains(strings.Join(lines, "\n"), "admin-token") {
		t.Error("the token is in the timeline")
	}
	eventually(t, "the verified run counted", func() bool {
		return value(r.m.runs.WithLabelValues("restart-gateway", ResultVerified)) == 1
	})
	if v := value(r.m.lastRun.WithLabelValues("restart-gateway")); v < float64(a.Started.Unix()) {
		t.Errorf("last run timestamp %v, want ≥ %d", v, a.Started.Unix())
	}
	if v := value(r.m.enabled.WithLabelValues("restart-gateway")); v != 1 {
		t.Errorf("enabled gauge %v", v)
	}
}

// A runbook that does not fix the fault: escalated after verify_within,
// suspended after its second failure, refused while suspended, running
// again once re-enabled.
func TestRunbookFailsThenSuspended(t *testing.T) {
	g := newRig(t, config.Remedy{})
	g.city.Remedy.Runbooks = []config.Runbook{g.runbook("restart-gateway", 300*time.Millisecond)}
	r, _ := g.start()

	first := g.open("yz-wsgw-1")
	a := g.ended(first.ID, "restart-gateway")
	if a.State != AttemptFailed || !strings.Contains(a.Reason, "symptoms still there") {
		t.Fatalf("first attempt = %s (%s), want failed", a.State, a.Reason)
	}
	if d := a.Ended.Sub(a.Steps[1].Ended); d < 300*time.Millisecond {
		t.Errorf("failed %s after the steps, before verify_within", d)
	}
	st, _ := r.states.Get(context.Background(), "restart-gateway")
	if st.Suspended || st.Failures != 1 {
		t.Errorf("after one failure: %+v", st)
	}
	if lines := remedyLines(g.get(first.ID), "restart-gateway"); !hasLine(lines, "failed: symptoms still there 300ms after the steps; escalated") {
		t.Errorf("timeline:\n%s", strings.Join(lines, "\n"))
	}

	second := g.open("jd-wsgw-1")
	if a := g.ended(second.ID, "restart-gateway"); a.State != AttemptFailed {
		t.Fatalf("second attempt = %s", a.State)
	}
	st, _ = r.states.Get(context.Background(), "restart-gateway")
	if !st.Suspended || st.Failures != 2 || !strings.Contains(st.Reason, "2 failed verifications in a row") {
		t.Errorf("after two failures: %+v, want suspended", st)
	}
	if lines := remedyLines(g.get(second.ID), "restart-gateway"); !hasLine(lines, "runbook restart-gateway suspended") {
		t.Errorf("the suspension is not in the timeline:\n%s", strings.Join(lines, "\n"))
	}
	g.mu.Lock()
	escalated := len(g.escalated)
	g.mu.Unlock()
	if escalated != 2 {
		t.Errorf("escalated %d times, want 2", escalated)
	}
	if v := value(r.m.suspended.WithLabelValues("restart-gateway")); v != 1 {
		t.Errorf("suspended gauge %v", v)
	}

	third := g.open("gy-wsgw-1")
	if a := g.ended(third.ID, "restart-gateway"); a.State != AttemptRefused || !strings.Contains(a.Reason, "suspended") {
		t.Errorf("third attempt = %s (%s), want refused: suspended", a.State, a.Reason)
	}
	if n := g.calls.Load(); n != 2 {
		t.Errorf("admin API called %d times, want 2", n)
	}
	if err := r.Enable(context.Background(), "restart-gateway"); err != nil {
		t.Fatal(err)
	}
	st, _ = r.states.Get(context.Background(), "restart-gateway")
	if st.Suspended || st.Failures != 0 || len(st.Runs) != 3 {
		t.Errorf("re-enabled: %+v", st)
	}
	if err := r.Enable(context.Background(), "nope"); !errors.Is(err, ErrUnknownRunbook) {
		t.Errorf("Enable of an unknown runbook: %v", err)
	}
}

// 20 triggers in an hour with a limit of 3: 3 runs, 17 refusals recorded.
func TestRunbookRateLimit(t *testing.T) {
	g := newRig(t, config.Remedy{})
	rb := g.runbook("restart-gateway", 5*time.Second)
	rb.MaxPerHour = 3
	rb.Steps = rb.Steps[:1]
	g.city.Remedy.Runbooks = []config.Runbook{rb}
	g.fix.Store(true)
	r, _ := g.start()
	var ids []string
	for i := range 20 {
		ids = append(ids, g.open(fmt.Sprintf("gw-%02d", i)).ID)
	}
	runs, refused := 0, 0
	for _, id := range ids {
		a := g.ended(id, "restart-gateway")
		switch a.State {
		case AttemptVerified:
			runs++
		case AttemptRefused:
			refused++
			if lines := remedyLines(g.get(id), "restart-gateway"); !hasLine(lines, "refused: rate limit: 3 runs per hour reached") {
				t.Errorf("%s: refusal not in the timeline:\n%s", id, strings.Join(lines, "\n"))
			}
		default:
			t.Errorf("%s: attempt %s", id, a.State)
		}
	}
	if runs != 3 || refused != 17 || g.calls.Load() != 3 {
		t.Errorf("%d runs, %d refused, %d calls; want 3, 17, 3", runs, refused, g.calls.Load())
	}
	eventually(t, "17 refusals counted", func() bool {
		return value(r.m.runs.WithLabelValues("restart-gateway", ResultRefused)) == 17
	})
}

// Inside a freeze window: no action, the refusal recorded.
func TestRunbookFreeze(t *testing.T) {
	g := newRig(t, config.Remedy{Freeze: []config.FreezeWindow{{Name: "解密期间", Days: "all", From: "00:00", To: "24:00", Rooms: []string{"yz-hall-1"}}}})
	g.city.Remedy.Runbooks = []config.Runbook{g.runbook("restart-gateway", 5*time.Second)}
	g.start()
	inc := g.open("yz-wsgw-1")
	a := g.ended(inc.ID, "restart-gateway")
	if a.State != AttemptRefused || a.Reason != "freeze window 解密期间" {
		t.Errorf("attempt = %s (%s), want refused in the freeze window", a.State, a.Reason)
	}
	if lines := remedyLines(g.get(inc.ID), "restart-gateway"); !hasLine(lines, "refused: freeze window 解密期间") {
		t.Errorf("timeline:\n%s", strings.Join(lines, "\n"))
	}
	if n := g.calls.Load(); n != 0 {
		t.Errorf("the admin API was called %d times in a freeze", n)
	}
}

// Dry run: the plan recorded, nothing done.
func TestRunbookDryRun(t *testing.T) {
	g := newRig(t, config.Remedy{DryRun: true})
	g.city.Remedy.Runbooks = []config.Runbook{g.runbook("restart-gateway", 5*time.Second)}
	r, _ := g.start()
	inc := g.open("yz-wsgw-1")
	if a := g.ended(inc.ID, "restart-gateway"); a.State != AttemptDryRun {
		t.Errorf("attempt = %s, want dry_run", a.State)
	}
	want := "would run: 1. restart: POST " + g.admin.URL + "/restart/yz-wsgw-1/" + inc.ID + "; 2. settle: wait 20ms for the probes; then verify within 5s"
	if lines := remedyLines(g.get(inc.ID), "restart-gateway"); !hasLine(lines, want) {
		t.Errorf("timeline lacks %q:\n%s", want, strings.Join(lines, "\n"))
	}
	// A person's dry run on the same incident is a new attempt, also
	// recorded.
	a, err := r.RunNow(context.Background(), "restart-gateway", inc.ID, true)
	if err != nil || a.State != AttemptDryRun || a.By == "" {
		t.Errorf("RunNow dry run = %+v, %v", a, err)
	}
	if n := g.calls.Load(); n != 0 {
		t.Errorf("the admin API was called %d times in a dry run", n)
	}
}

// A person's run bypasses the cooldown, runs the steps and verifies.
func TestRunNow(t *testing.T) {
	g := newRig(t, config.Remedy{})
	rb := g.runbook("restart-gateway", 5*time.Second)
	rb.Match = config.RunbookMatch{Causes: []string{"uplink"}} // matches nothing here: the person chose it
	rb.Cooldown = time.Hour
	g.city.Remedy.Runbooks = []config.Runbook{rb}
	g.fix.Store(true)
	r, err := New(Options{City: g.city, Store: g.store, Redis: g.rdb, Prefix: prefix, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	inc := g.open("yz-wsgw-1")
	if err := r.states.Ran(context.Background(), inc.Key, time.Now()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	a, err := r.RunNow(ctx, "restart-gateway", inc.ID, false)
	if err != nil || a.State != AttemptVerified || g.calls.Load() != 1 {
		t.Fatalf("RunNow = %s, %v (%d calls); want verified", a.State, err, g.calls.Load())
	}
	if got := g.get(inc.ID); got.State != incident.StateMitigated {
		t.Errorf("incident %s", got.State)
	}
	if _, err := r.RunNow(ctx, "nope", inc.ID, false); !errors.Is(err, ErrUnknownRunbook) {
		t.Errorf("unknown runbook: %v", err)
	}
	if _, err := r.RunNow(ctx, "restart-gateway", "INC-999999", false); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("unknown incident: %v", err)
	}
}

// Two replicas on one Redis: the leader was killed in the middle of a step
// (its attempt record says step 1 started, not ended). The new leader does
// not run the step again, records the attempt interrupted and verifies it.
func TestTakeoverAfterLeaderDied(t *testing.T) {
	g := newRig(t, config.Remedy{})
	rb := g.runbook("restart-gateway", 5*time.Second)
	g.city.Remedy.Runbooks = []config.Runbook{rb}
	inc := g.open("yz-wsgw-1")

	// What the first leader wrote before it died: the attempt, and step 1's
	// start (written ahead of running it).
	attempts := NewAttempts(g.rdb, prefix)
	started := time.Now().Add(-2 * time.Second)
	dead := &Attempt{Runbook: rb.Name, Incident: inc.ID, Target: inc.Key, Started: started, State: AttemptRunning,
		Key:   attempts.AttemptKey(inc.ID, rb.Name, 0),
		Steps: []StepRecord{{Name: "restart", Action: "http", Started: started}, {Name: "settle", Action: "wait_probes"}}}
	if err := attempts.Create(context.Background(), dead); err != nil {
		t.Fatal(err)
	}
	// Its restart did take: the probes see the gateway back.
	g.clear(inc.ID)

	r, _ := g.start() // the second replica, now the leader
	a := g.ended(inc.ID, rb.Name)
	if a.State != AttemptVerified {
		t.Fatalf("attempt = %s (%s), want verified", a.State, a.Reason)
	}
	if !a.Steps[0].Interrupted || a.Steps[0].OK || a.Steps[0].Ended.IsZero() || !a.Steps[1].Started.IsZero() {
		t.Errorf("steps = %+v; want the first interrupted, the second never started", a.Steps)
	}
	if n := g.calls.Load(); n != 0 {
		t.Errorf("the step ran again: %d calls", n)
	}
	got := g.get(inc.ID)
	if got.State != incident.StateMitigated {
		t.Errorf("incident %s, want mitigated", got.State)
	}
	if lines := remedyLines(got, rb.Name); !hasLine(lines, "interrupted in step 1/2 restart by a leader change: not run again, 1 later steps skipped") {
		t.Errorf("timeline:\n%s", strings.Join(lines, "\n"))
	}
	if v := value(r.m.runs.WithLabelValues(rb.Name, ResultInterrupted)); v != 1 {
		t.Errorf("interrupted runs %v, want 1", v)
	}
}
