package report

import (
	"context"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

func TestVerdict(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	now := t0.Add(3 * time.Hour)
	tests := []struct {
		name string
		inc  incident.Incident
		want string
	}{
		{"resolved in time", incident.Incident{ResolvedAt: t0.Add(30 * time.Minute), Deadline: t0.Add(time.Hour)}, SLAMet},
		{"resolved at the deadline", incident.Incident{ResolvedAt: t0.Add(time.Hour), Deadline: t0.Add(time.Hour)}, SLAMet},
		{"resolved late", incident.Incident{ResolvedAt: t0.Add(61 * time.Minute), Deadline: t0.Add(time.Hour)}, SLABreached},
		{"marked breached, then resolved in a later spell", incident.Incident{ResolvedAt: t0.Add(30 * time.Minute), Deadline: t0.Add(time.Hour), Breached: true}, SLABreached},
		{"open past the deadline", incident.Incident{Deadline: t0.Add(time.Hour)}, SLABreached},
		{"open before the deadline", incident.Incident{Deadline: t0.Add(4 * time.Hour)}, SLAPending},
	}
	for _, tt := range tests {
		if got := verdict(&tt.inc, now); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestRemediationFromTimeline(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	e := func(min int, runbook, kind, text string) incident.Entry {
		return incident.Entry{At: t0.Add(time.Duration(min) * time.Minute), Actor: "runbook " + runbook, Kind: kind, Text: text}
	}
	incs := []*incident.Incident{
		{ID: "A", Timeline: []incident.Entry{
			{At: t0, Actor: "watchdog", Kind: "opened", Text: "started on nothing"}, // not a runbook's
			e(1, "restart", "remedy", "started on server:x: 2 steps, then verify within 1m0s"),
			e(2, "restart", "remedy", "step 1/2 restart: POST … → ok (1s)"),
			e(3, "restart", "remedy", "failed: not verified within 1m0s; escalated"),
			e(4, "restart", "remedy", "started on server:x: 2 steps, then verify within 1m0s"),
			e(5, "restart", "mitigated", "verified: the probes see the symptoms gone 40s after the runbook started"),
			e(6, "restart", "remedy", "verified: the probes see the symptoms gone 41s after the runbook started (not marked mitigated: x)"), // no attempt open: not counted twice
			e(7, "clear", "remedy", "refused: runbook clear is suspended"),
			e(8, "clear", "remedy", "dry run, nothing done; would run: clear"),
		}},
		{ID: "B", Timeline: []incident.Entry{
			e(1, "restart", "remedy", "started on server:y: 2 steps, then verify within 1m0s"),
			e(2, "restart", "remedy", "interrupted by a leader change; not verified: runbook no longer in the config"),
			e(3, "move", "remedy", "started on room:r: 1 steps, then verify within 1m0s"),
			e(4, "move", "remedy", "interrupted step move by a leader change: not run again, 0 later steps skipped; verifying within 1m0s"),
		}},
	}
	r := remediation(incs)
	eq(t, "attempts", r.Attempts, 4)
	eq(t, "verified", r.Verified, 1)
	eq(t, "failed", r.Failed, 1)
	eq(t, "interrupted", r.Interrupted, 1)
	eq(t, "unfinished", r.Unfinished, 1) // move: still verifying
	eq(t, "refused", r.Refused, 1)
	eq(t, "dry runs", r.DryRuns, 1)
	near(t, "success", r.Success, 1.0/3)
	eq(t, "runbooks", len(r.PerRunbook), 3)
	eq(t, "restart incidents", len(r.PerRunbook[2].Incidents), 2)
}

// TestDaylightSaving: periods follow a zone with daylight saving — a
// spring-forward day has 23 hours, its report 23 hourly points and 23
// patrol hours.
func TestDaylightSaving(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	m := rollup.NewMem(rollup.Thresholds{DegradedRTT: 300 * time.Millisecond}, ny)
	day := time.Date(2026, 3, 8, 0, 0, 0, 0, ny)
	for h := 0; h < 23; h++ {
		at := day.Add(time.Duration(h)*time.Hour + 30*time.Minute)
		m.Add(&sample.Sample{Room: "zx-h1", Location: "zx", Transport: "ws", WindowStart: at, WindowMS: 1000, Connected: true, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: 80})
	}
	cfg := fixtureConfig()
	p, err := ParsePeriod(KindDay, day.Add(12*time.Hour), ny)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "day length", p.End.Sub(p.Start), 23*time.Hour)
	rep, err := Build(context.Background(), Sources{Config: cfg, Rollups: m}, Request{Period: p, Scope: "room:zx-h1", Now: day.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "points", len(rep.Series), 23)
	eq(t, "patrol hours", rep.Patrol[0].Hours, 23)
	eq(t, "patrol checked", rep.Patrol[0].Checked, 23)
	eq(t, "longest gap", rep.Patrol[0].LongestGapH, 0)
	eq(t, "previous day", rep.Previous.Period.End.Sub(rep.Previous.Period.Start), 24*time.Hour)
}
