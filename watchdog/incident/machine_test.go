package incident

import (
	"errors"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func policy() config.IncidentPolicy { return config.DefaultWatchdog().Incidents }

func openIncident() Incident {
	return Incident{ID: "INC-000001", State: StateOpen, Class: config.ClassPartial, OpenedAt: t0, Deadline: t0.Add(2 * time.Hour)}
}

func TestApplyTransitions(t *testing.T) {
	type step struct {
		kind  ActionKind
		at    time.Duration
		text  string
		state State
		err   error
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"the whole life", []step{
			{ActAcknowledge, time.Minute, "", StateAcknowledged, nil},
			{ActMitigate, 5 * time.Minute, "restarted the gateway", StateMitigated, nil},
			{ActNote, 6 * time.Minute, "watching", StateMitigated, nil},
			{ActResolve, 10 * time.Minute, "gateway restarted", StateResolved, nil},
			{ActSignOff, time.Hour, "", StateSignedOff, nil},
		}},
		{"resolve straight from open", []step{
			{ActResolve, time.Minute, "", StateResolved, nil},
		}},
		{"acknowledge twice", []step{
			{ActAcknowledge, time.Minute, "", StateAcknowledged, nil},
			{ActAcknowledge, 2 * time.Minute, "", StateAcknowledged, ErrTransition},
		}},
		{"sign off before resolving", []step{
			{ActSignOff, time.Minute, "", StateOpen, ErrTransition},
		}},
		{"reopen only a resolved one", []step{
			{ActReopen, time.Minute, "", StateOpen, ErrTransition},
			{ActResolve, 2 * time.Minute, "", StateResolved, nil},
			{ActReopen, 3 * time.Minute, "", StateOpen, nil},
		}},
		{"sign-off freezes the record", []step{
			{ActResolve, time.Minute, "", StateResolved, nil},
			{ActSignOff, 2 * time.Minute, "", StateSignedOff, nil},
			{ActNote, 3 * time.Minute, "late note", StateSignedOff, ErrFrozen},
			{ActReopen, 3 * time.Minute, "", StateSignedOff, ErrFrozen},
			{ActReclassify, 3 * time.Minute, "", StateSignedOff, ErrFrozen},
		}},
		{"an empty note", []step{
			{ActNote, time.Minute, " ", StateOpen, errors.New("empty")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := openIncident()
			for i, s := range tt.steps {
				next, err := Apply(inc, Action{Kind: s.kind, Actor: "张工", At: t0.Add(s.at), Text: s.text, Class: config.ClassMajor}, policy())
				switch {
				case s.err == nil && err != nil:
					t.Fatalf("step %d %s: %v", i, s.kind, err)
				case s.err != nil && err == nil:
					t.Fatalf("step %d %s: no error, want %v", i, s.kind, s.err)
				case s.err != nil && s.err.Error() != "empty" && !errors.Is(err, s.err):
					t.Fatalf("step %d %s: %v, want %v", i, s.kind, err, s.err)
				}
				if err == nil {
					inc = next
				} else if len(next.Timeline) != len(inc.Timeline) {
					t.Fatalf("step %d: a refused action changed the record", i)
				}
				if inc.State != s.state {
					t.Fatalf("step %d %s: state %s, want %s", i, s.kind, inc.State, s.state)
				}
			}
		})
	}
}

func TestApplyRecordsTheFaultRecord(t *testing.T) {
	inc := openIncident()
	steps := []Action{
		{Kind: ActAcknowledge, Actor: "张工", At: t0.Add(time.Minute)},
		{Kind: ActMitigate, Actor: "张工", At: t0.Add(5 * time.Minute), Text: "moved rooms to the standby media server"},
		{Kind: ActResolve, Actor: "张工", At: t0.Add(20 * time.Minute), Text: "media server replaced"},
		{Kind: ActSignOff, Actor: "交易中心 李主任", At: t0.Add(24 * time.Hour)},
	}
	for _, a := range steps {
		var err error
		if inc, err = Apply(inc, a, policy()); err != nil {
			t.Fatal(err)
		}
	}
	if inc.Result != "media server replaced" || inc.HandlingTime(t0.Add(48*time.Hour)) != 20*time.Minute {
		t.Errorf("result %q, handling %s", inc.Result, inc.HandlingTime(t0))
	}
	if inc.SignedOffBy != "交易中心 李主任" || inc.Breached {
		t.Errorf("signed off by %q, breached %v", inc.SignedOffBy, inc.Breached)
	}
	var kinds []string
	for _, e := range inc.Timeline {
		kinds = append(kinds, e.Actor+":"+e.Kind)
	}
	want := "张工:acknowledged 张工:mitigated 张工:resolved 交易中心 李主任:signed_off"
	if got := join(kinds); got != want {
		t.Errorf("timeline %q, want %q", got, want)
	}
}

func TestDeadlineBreach(t *testing.T) {
	inc := openIncident() // partial: 2 h
	if _, err := Apply(inc, Action{Kind: ActBreach, Actor: Actor, At: t0.Add(time.Hour)}, policy()); !errors.Is(err, ErrTransition) {
		t.Fatalf("breach before the deadline: %v", err)
	}
	b, err := Apply(inc, Action{Kind: ActBreach, Actor: Actor, At: t0.Add(2*time.Hour + time.Second)}, policy())
	if err != nil || !b.Breached || !b.BreachedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("breach: %v %+v", err, b)
	}
	if _, err := Apply(b, Action{Kind: ActBreach, Actor: Actor, At: t0.Add(3 * time.Hour)}, policy()); !errors.Is(err, ErrTransition) {
		t.Fatalf("second breach: %v", err)
	}
	// Resolving late flags the breach too.
	r, err := Apply(inc, Action{Kind: ActResolve, Actor: "张工", At: t0.Add(3 * time.Hour)}, policy())
	if err != nil || !r.Breached {
		t.Fatalf("late resolve: %v breached=%v", err, r.Breached)
	}
	if r.Remaining(t0.Add(4*time.Hour)) != 0 || inc.Remaining(t0.Add(time.Hour)) != time.Hour {
		t.Errorf("remaining: %s %s", r.Remaining(t0), inc.Remaining(t0.Add(time.Hour)))
	}
}

func TestReclassify(t *testing.T) {
	inc := openIncident()
	out, err := Apply(inc, Action{Kind: ActReclassify, Actor: "张工", At: t0.Add(time.Minute), Class: config.ClassMajor, Text: "needs a redeploy"}, policy())
	if err != nil || out.Class != config.ClassMajor || !out.Deadline.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("%v %+v", err, out)
	}
	if _, err := Apply(inc, Action{Kind: ActReclassify, Actor: "张工", At: t0, Class: "huge"}, policy()); err == nil {
		t.Fatal("unknown class accepted")
	}
	if _, err := Apply(inc, Action{Kind: ActNote, At: t0, Text: "x"}, policy()); err == nil {
		t.Fatal("an action with no actor accepted")
	}
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}
