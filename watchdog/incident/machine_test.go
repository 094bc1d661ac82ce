package incident

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// inState is a partial-class incident (deadline t0+2h) opened at t0 and
// brought to a state the way people would.
func inState(t *testing.T, s State) Incident {
	t.Helper()
	inc := opened("INC-000001", problem(vocab.CauseRoom, hall1, []string{hall1}, dropout(hall1, 3, t0)), t0)
	if inc.Class != vocab.ClassPartial || !inc.Deadline.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("fixture: class %s deadline %s", inc.Class, inc.Deadline)
	}
	switch s {
	case StateOpen:
	case StateAcknowledged:
		inc = must(t, inc, Action{Kind: ActAcknowledge, Actor: "张工", At: t0.Add(time.Minute)})
	case StateMitigated:
		inc = must(t, inc, Action{Kind: ActMitigate, Actor: "张工", At: t0.Add(2 * time.Minute)})
	case StateResolved:
		inc = must(t, inc, Action{Kind: ActResolve, Actor: "张工", At: t0.Add(10 * time.Minute), Text: "gateway restarted"})
	case StateSignedOff:
		inc = must(t, inc, Action{Kind: ActResolve, Actor: "张工", At: t0.Add(10 * time.Minute)})
		inc = must(t, inc, Action{Kind: ActSignOff, Actor: "李主任", At: t0.Add(20 * time.Minute)})
	case StateMerged:
		parent := opened("INC-000009", serverProblem(hall1, hall2), t0)
		var err error
		if inc, _, err = Merge(inc, parent, t0.Add(5*time.Minute), "explained by the server"); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("fixture: state %s", s)
	}
	if inc.State != s {
		t.Fatalf("fixture: state %s, want %s", inc.State, s)
	}
	return inc
}

// TestApplyMatrix tries every action in every state: the state it leads to,
// or the sentinel it is refused with; a refused action returns its input,
// and no action changes it.
func TestApplyMatrix(t *testing.T) {
	at := t0.Add(3 * time.Hour) // past the 2 h deadline, so a breach applies
	actions := map[ActionKind]Action{
		ActAcknowledge: {Kind: ActAcknowledge, Actor: "张工", At: at},
		ActMitigate:    {Kind: ActMitigate, Actor: "张工", At: at, Text: "traffic moved to yz-media-2"},
		ActResolve:     {Kind: ActResolve, Actor: "张工", At: at, Text: "gateway restarted"},
		ActReopen:      {Kind: ActReopen, Actor: "张工", At: at},
		ActSignOff:     {Kind: ActSignOff, Actor: "李主任", At: at},
		ActNote:        {Kind: ActNote, Actor: "张工", At: at, Text: "bidders told to refresh"},
		ActBreach:      {Kind: ActBreach, Actor: Actor, At: at},
		ActReclassify:  {Kind: ActReclassify, Actor: "张工", At: at, Class: vocab.ClassMajor},
	}
	// entryOf is the timeline entry a successful action writes.
	entryOf := map[ActionKind]string{
		ActAcknowledge: "acknowledged", ActMitigate: "mitigated", ActResolve: "resolved", ActReopen: "reopened",
		ActSignOff: "signed_off", ActNote: "note", ActBreach: "breached", ActReclassify: "reclassified",
	}
	tests := []struct {
		from State
		kind ActionKind
		to   State
		err  error
	}{
		{StateOpen, ActAcknowledge, StateAcknowledged, nil},
		{StateOpen, ActMitigate, StateMitigated, nil},
		{StateOpen, ActResolve, StateResolved, nil},
		{StateOpen, ActReopen, "", ErrTransition},
		{StateOpen, ActSignOff, "", ErrTransition},
		{StateOpen, ActNote, StateOpen, nil},
		{StateOpen, ActBreach, StateOpen, nil},
		{StateOpen, ActReclassify, StateOpen, nil},

		{StateAcknowledged, ActAcknowledge, "", ErrTransition},
		{StateAcknowledged, ActMitigate, StateMitigated, nil},
		{StateAcknowledged, ActResolve, StateResolved, nil},
		{StateAcknowledged, ActReopen, "", ErrTransition},
		{StateAcknowledged, ActSignOff, "", ErrTransition},
		{StateAcknowledged, ActNote, StateAcknowledged, nil},
		{StateAcknowledged, ActBreach, StateAcknowledged, nil},
		{StateAcknowledged, ActReclassify, StateAcknowledged, nil},

		{StateMitigated, ActAcknowledge, "", ErrTransition},
		{StateMitigated, ActMitigate, "", ErrTransition},
		{StateMitigated, ActResolve, StateResolved, nil},
		{StateMitigated, ActReopen, "", ErrTransition},
		{StateMitigated, ActSignOff, "", ErrTransition},
		{StateMitigated, ActNote, StateMitigated, nil},
		{StateMitigated, ActBreach, StateMitigated, nil},
		{StateMitigated, ActReclassify, StateMitigated, nil},

		{StateResolved, ActAcknowledge, "", ErrTransition},
		{StateResolved, ActMitigate, "", ErrTransition},
		{StateResolved, ActResolve, "", ErrTransition},
		{StateResolved, ActReopen, StateOpen, nil},
		{StateResolved, ActSignOff, StateSignedOff, nil},
		{StateResolved, ActNote, StateResolved, nil},
		{StateResolved, ActBreach, "", ErrTransition},
		{StateResolved, ActReclassify, StateResolved, nil},

		{StateSignedOff, ActAcknowledge, "", ErrFrozen},
		{StateSignedOff, ActMitigate, "", ErrFrozen},
		{StateSignedOff, ActResolve, "", ErrFrozen},
		{StateSignedOff, ActReopen, "", ErrFrozen},
		{StateSignedOff, ActSignOff, "", ErrFrozen},
		{StateSignedOff, ActNote, "", ErrFrozen},
		{StateSignedOff, ActBreach, "", ErrFrozen},
		{StateSignedOff, ActReclassify, "", ErrFrozen},

		{StateMerged, ActAcknowledge, "", ErrMerged},
		{StateMerged, ActMitigate, "", ErrMerged},
		{StateMerged, ActResolve, "", ErrMerged},
		{StateMerged, ActReopen, "", ErrMerged},
		{StateMerged, ActSignOff, "", ErrMerged},
		{StateMerged, ActNote, StateMerged, nil},
		{StateMerged, ActBreach, "", ErrMerged},
		{StateMerged, ActReclassify, "", ErrMerged},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"/"+string(tt.kind), func(t *testing.T) {
			inc := inState(t, tt.from)
			before := inc.clone()
			got, err := Apply(inc, actions[tt.kind], policy())
			unchanged(t, "Apply", before, inc)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				unchanged(t, "a refused action", before, got)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got.State != tt.to {
				t.Errorf("state %s, want %s", got.State, tt.to)
			}
			if e := entry(t, got, entryOf[tt.kind]); !e.At.Equal(at) || e.Actor != actions[tt.kind].Actor {
				t.Errorf("entry %+v, want at %s by %s", e, at, actions[tt.kind].Actor)
			}
			if len(got.Timeline) <= len(inc.Timeline) {
				t.Errorf("timeline did not grow: %q", kinds(got.Timeline))
			}
			inOrder(t, got.Timeline)
		})
	}
}

func TestApplyBadAction(t *testing.T) {
	tests := []struct {
		name  string
		state State
		a     Action
		err   error
	}{
		{"no actor", StateOpen, Action{Kind: ActAcknowledge, At: t0}, ErrBadAction},
		{"a blank actor", StateOpen, Action{Kind: ActNote, Actor: "  ", At: t0, Text: "x"}, ErrBadAction},
		{"an empty note", StateOpen, Action{Kind: ActNote, Actor: "张工", At: t0, Text: " \t"}, ErrBadAction},
		{"an empty note on a merged record", StateMerged, Action{Kind: ActNote, Actor: "张工", At: t0}, ErrBadAction},
		{"an unknown class", StateOpen, Action{Kind: ActReclassify, Actor: "张工", At: t0, Class: "catastrophic"}, ErrBadAction},
		{"no class", StateOpen, Action{Kind: ActReclassify, Actor: "张工", At: t0}, ErrBadAction},
		{"an unknown action", StateOpen, Action{Kind: "explode", Actor: "张工", At: t0}, ErrBadAction},
		{"the same class again", StateOpen, Action{Kind: ActReclassify, Actor: "张工", At: t0, Class: vocab.ClassPartial}, ErrTransition},
		{"signed off wins over no actor", StateSignedOff, Action{Kind: ActNote, At: t0, Text: "x"}, ErrFrozen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := inState(t, tt.state)
			got, err := Apply(inc, tt.a, policy())
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			unchanged(t, "a refused action", inc, got)
		})
	}
}

// TestApplyResolve: a resolve as of when the symptoms ended records that
// time, never one before the incident opened, and breaches only when that
// time is past the deadline.
func TestApplyResolve(t *testing.T) {
	deadline := t0.Add(2 * time.Hour)
	tests := []struct {
		name         string
		breached     bool // already breached before the resolve
		at, asOf     time.Duration
		wantResolved time.Duration
		wantBreached bool
	}{
		{"now", false, 30 * time.Minute, 0, 30 * time.Minute, false},
		{"as of when the symptoms ended", false, 30 * time.Minute, 20 * time.Minute, 20 * time.Minute, false},
		{"a resolved_at after the action is ignored", false, 30 * time.Minute, 40 * time.Minute, 30 * time.Minute, false},
		{"never before opened_at", false, 30 * time.Minute, -5 * time.Minute, 0, false},
		{"late, but the symptoms ended before the deadline", false, 3 * time.Hour, 110 * time.Minute, 110 * time.Minute, false},
		{"the symptoms ended at the deadline", false, 3 * time.Hour, 2 * time.Hour, 2 * time.Hour, false},
		{"the symptoms ended after the deadline", false, 3 * time.Hour, 150 * time.Minute, 150 * time.Minute, true},
		{"resolved after the deadline", false, 3 * time.Hour, 0, 3 * time.Hour, true},
		{"breached already", true, 3 * time.Hour, 0, 3 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := inState(t, StateAcknowledged)
			if tt.asOf != 0 {
				inc.ClearingSince = t0.Add(tt.asOf)
			}
			if tt.breached {
				inc = must(t, inc, Action{Kind: ActBreach, Actor: Actor, At: deadline.Add(time.Minute)})
			}
			a := Action{Kind: ActResolve, Actor: Actor, At: t0.Add(tt.at), Text: "recovered"}
			if tt.asOf != 0 {
				a.ResolvedAt = t0.Add(tt.asOf)
			}
			got := must(t, inc, a)
			if got.State != StateResolved || !got.ResolvedAt.Equal(t0.Add(tt.wantResolved)) {
				t.Errorf("state %s resolved_at %s, want %s", got.State, got.ResolvedAt, t0.Add(tt.wantResolved))
			}
			if got.ResolvedAt.Before(got.OpenedAt) {
				t.Errorf("resolved_at %s before opened_at %s", got.ResolvedAt, got.OpenedAt)
			}
			if !got.ClearingSince.IsZero() || got.Result != "recovered" {
				t.Errorf("clearing_since %s result %q", got.ClearingSince, got.Result)
			}
			if e := entry(t, got, "resolved"); !e.At.Equal(a.At) {
				t.Errorf("resolved entry at %s, want the action's time %s", e.At, a.At)
			}
			if got.Breached != tt.wantBreached {
				t.Errorf("breached %v, want %v", got.Breached, tt.wantBreached)
			}
			if tt.wantBreached && !got.BreachedAt.Equal(deadline) {
				t.Errorf("breached_at %s, want the deadline %s", got.BreachedAt, deadline)
			}
			if want := map[bool]int{false: 0, true: 1}[tt.wantBreached]; count(got.Timeline, "breached") != want {
				t.Errorf("breached entries %d, want %d: %q", count(got.Timeline, "breached"), want, kinds(got.Timeline))
			}
			if d := got.HandlingTime(t0.Add(10 * time.Hour)); d != tt.wantResolved {
				t.Errorf("handling time %s, want %s", d, tt.wantResolved)
			}
			inOrder(t, got.Timeline)
		})
	}
}

func TestApplyBreach(t *testing.T) {
	deadline := t0.Add(2 * time.Hour)
	tests := []struct {
		name     string
		state    State
		at       time.Duration
		clearing time.Duration // 0: the symptoms hold
		breached bool
		err      error
	}{
		{"past the deadline", StateOpen, 2*time.Hour + time.Second, 0, false, nil},
		{"at the deadline", StateOpen, 2 * time.Hour, 0, false, nil},
		{"acknowledged, past the deadline", StateAcknowledged, 3 * time.Hour, 0, false, nil},
		{"before the deadline", StateOpen, 2*time.Hour - time.Second, 0, false, ErrTransition},
		{"breached already", StateOpen, 3 * time.Hour, 0, true, ErrTransition},
		{"symptoms ended before the deadline", StateOpen, 3 * time.Hour, 110 * time.Minute, false, ErrTransition},
		{"symptoms ended after the deadline", StateOpen, 3 * time.Hour, 150 * time.Minute, false, nil},
		{"resolved", StateResolved, 3 * time.Hour, 0, false, ErrTransition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := inState(t, tt.state)
			if tt.clearing != 0 {
				inc.ClearingSince = t0.Add(tt.clearing)
			}
			if tt.breached {
				inc.Breached, inc.BreachedAt = true, deadline
			}
			got, err := Apply(inc, Action{Kind: ActBreach, Actor: Actor, At: t0.Add(tt.at)}, policy())
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err != nil {
				unchanged(t, "a refused breach", inc, got)
				return
			}
			if !got.Breached || !got.BreachedAt.Equal(deadline) || got.State != tt.state {
				t.Errorf("breached %v at %s state %s", got.Breached, got.BreachedAt, got.State)
			}
			if e := entry(t, got, "breached"); !strings.Contains(e.Text, "partial deadline") {
				t.Errorf("breached entry %q", e.Text)
			}
		})
	}
}

func TestApplyFields(t *testing.T) {
	at := t0.Add(30 * time.Minute)
	tests := []struct {
		name  string
		state State
		a     Action
		check func(t *testing.T, got Incident)
	}{
		{"acknowledge", StateOpen, Action{Kind: ActAcknowledge, Actor: "张工", At: at}, func(t *testing.T, got Incident) {
			if !got.AcknowledgedAt.Equal(at) || !got.MitigatedAt.IsZero() {
				t.Errorf("acknowledged %s mitigated %s", got.AcknowledgedAt, got.MitigatedAt)
			}
			if e := entry(t, got, "acknowledged"); e.Text != "acknowledged (确认接单)" {
				t.Errorf("default text %q", e.Text)
			}
		}},
		{"mitigate straight from open acknowledges too", StateOpen, Action{Kind: ActMitigate, Actor: "张工", At: at, Text: "failover"}, func(t *testing.T, got Incident) {
			if !got.AcknowledgedAt.Equal(at) || !got.MitigatedAt.Equal(at) {
				t.Errorf("acknowledged %s mitigated %s", got.AcknowledgedAt, got.MitigatedAt)
			}
			if e := entry(t, got, "mitigated"); e.Text != "failover" {
				t.Errorf("text %q", e.Text)
			}
		}},
		{"mitigate keeps the acknowledgement time", StateAcknowledged, Action{Kind: ActMitigate, Actor: "张工", At: at}, func(t *testing.T, got Incident) {
			if !got.AcknowledgedAt.Equal(t0.Add(time.Minute)) {
				t.Errorf("acknowledged %s", got.AcknowledgedAt)
			}
		}},
		{"reopen clears the ending", StateResolved, Action{Kind: ActReopen, Actor: "张工", At: at, Text: "came back"}, func(t *testing.T, got Incident) {
			if !got.ResolvedAt.IsZero() || got.Result != "" || !got.AcknowledgedAt.IsZero() || !got.MitigatedAt.IsZero() || !got.ClearingSince.IsZero() || got.Reopens != 1 {
				t.Errorf("reopened %+v", got)
			}
			if !got.OpenedAt.Equal(t0) || !got.Deadline.Equal(t0.Add(2*time.Hour)) {
				t.Errorf("opened %s deadline %s changed", got.OpenedAt, got.Deadline)
			}
		}},
		{"sign-off", StateResolved, Action{Kind: ActSignOff, Actor: "李主任", At: at}, func(t *testing.T, got Incident) {
			if !got.SignedOffAt.Equal(at) || got.SignedOffBy != "李主任" || !got.ResolvedAt.Equal(t0.Add(10*time.Minute)) {
				t.Errorf("signed off %s by %q resolved %s", got.SignedOffAt, got.SignedOffBy, got.ResolvedAt)
			}
			if e := entry(t, got, "signed_off"); e.Text != "signed off (中心签字认可)" {
				t.Errorf("text %q", e.Text)
			}
		}},
		{"reclassify sets the deadline from the opening", StateAcknowledged, Action{Kind: ActReclassify, Actor: "张工", At: at, Class: vocab.ClassMajor, Text: "hall redeployed"}, func(t *testing.T, got Incident) {
			if got.Class != vocab.ClassMajor || !got.Deadline.Equal(t0.Add(24*time.Hour)) || got.ClassRule != "set by 张工" {
				t.Errorf("class %s deadline %s rule %q", got.Class, got.Deadline, got.ClassRule)
			}
			if e := entry(t, got, "reclassified"); !strings.Contains(e.Text, "partial → major") || !strings.HasSuffix(e.Text, ": hall redeployed") {
				t.Errorf("text %q", e.Text)
			}
		}},
		{"reclassify down is a person's right", StateOpen, Action{Kind: ActReclassify, Actor: "张工", At: at, Class: vocab.ClassMinor}, func(t *testing.T, got Incident) {
			if got.Class != vocab.ClassMinor || !got.Deadline.Equal(t0.Add(time.Hour)) {
				t.Errorf("class %s deadline %s", got.Class, got.Deadline)
			}
		}},
		{"a note on a merged record", StateMerged, Action{Kind: ActNote, Actor: "张工", At: at, Text: "see INC-000009"}, func(t *testing.T, got Incident) {
			if got.State != StateMerged || got.MergedInto != "INC-000009" {
				t.Errorf("state %s into %q", got.State, got.MergedInto)
			}
			if e := entry(t, got, "note"); e.Text != "see INC-000009" {
				t.Errorf("text %q", e.Text)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, must(t, inState(t, tt.state), tt.a))
		})
	}
}

// TestApplyWholeLife walks an incident from open to signed off; sign-off
// freezes it.
func TestApplyWholeLife(t *testing.T) {
	inc := inState(t, StateOpen)
	for _, a := range []Action{
		{Kind: ActAcknowledge, Actor: "张工", At: t0.Add(time.Minute)},
		{Kind: ActMitigate, Actor: "张工", At: t0.Add(5 * time.Minute), Text: "traffic moved"},
		{Kind: ActNote, Actor: "张工", At: t0.Add(6 * time.Minute), Text: "watching"},
		{Kind: ActResolve, Actor: "张工", At: t0.Add(10 * time.Minute), Text: "gateway restarted"},
		{Kind: ActSignOff, Actor: "李主任", At: t0.Add(time.Hour)},
	} {
		inc = must(t, inc, a)
	}
	want := []string{"opened", "detected", "acknowledged", "mitigated", "note", "resolved", "signed_off"}
	if got := kinds(inc.Timeline); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("timeline %q, want %q", got, want)
	}
	if inc.HandlingTime(t0.Add(48*time.Hour)) != 10*time.Minute || inc.Remaining(t0) != 0 {
		t.Errorf("handling %s remaining %s", inc.HandlingTime(t0.Add(48*time.Hour)), inc.Remaining(t0))
	}
	for _, k := range []ActionKind{ActNote, ActReopen, ActReclassify, ActBreach, ActSignOff} {
		if _, err := Apply(inc, Action{Kind: k, Actor: "张工", At: t0.Add(2 * time.Hour), Text: "late", Class: vocab.ClassMajor}, policy()); !errors.Is(err, ErrFrozen) {
			t.Errorf("%s after sign-off: %v, want ErrFrozen", k, err)
		}
	}
}

// TestHandlingTimeOfARelapse: an incident a relapse reopened is handled for
// the sum of its spells; the quiet time between them does not count, nor
// does the deadline move.
func TestHandlingTimeOfARelapse(t *testing.T) {
	pol := policy()
	inc := Incident{ID: "INC-000001", State: StateOpen, Class: vocab.ClassPartial, OpenedAt: t0, Deadline: t0.Add(2 * time.Hour)}
	step := func(a Action) {
		t.Helper()
		var err error
		if inc, err = Apply(inc, a, pol); err != nil {
			t.Fatal(err)
		}
	}
	step(Action{Kind: ActResolve, Actor: Actor, At: t0.Add(2 * time.Minute), ResolvedAt: t0.Add(90 * time.Second)})
	if got := inc.HandlingTime(t0.Add(time.Hour)); got != 90*time.Second {
		t.Fatalf("first spell: %s", got)
	}
	step(Action{Kind: ActReopen, Actor: Actor, At: t0.Add(10 * time.Minute)})
	if got := inc.HandlingTime(t0.Add(11 * time.Minute)); got != 150*time.Second {
		t.Fatalf("during the relapse: %s, want 2m30s", got)
	}
	step(Action{Kind: ActResolve, Actor: Actor, At: t0.Add(13 * time.Minute), ResolvedAt: t0.Add(12 * time.Minute)})
	if got := inc.HandlingTime(t0.Add(time.Hour)); got != 210*time.Second || !inc.Deadline.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("both spells: %s (deadline %s), want 3m30s", got, inc.Deadline)
	}
	// A resolution as of a time before the relapse is taken as the relapse.
	step(Action{Kind: ActReopen, Actor: Actor, At: t0.Add(20 * time.Minute)})
	step(Action{Kind: ActResolve, Actor: Actor, At: t0.Add(21 * time.Minute), ResolvedAt: t0.Add(5 * time.Minute)})
	if !inc.ResolvedAt.Equal(t0.Add(20*time.Minute)) || inc.HandlingTime(t0.Add(time.Hour)) != 210*time.Second {
		t.Fatalf("resolved %s, handling %s", inc.ResolvedAt, inc.HandlingTime(t0.Add(time.Hour)))
	}
}
