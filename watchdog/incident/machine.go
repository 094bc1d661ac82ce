package incident

import (
	"fmt"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
)

// ActionKind is what a person (or the watchdog) does to an incident.
type ActionKind string

// The actions.
const (
	ActAcknowledge ActionKind = "acknowledge"
	ActMitigate    ActionKind = "mitigate"
	ActResolve     ActionKind = "resolve"
	ActReopen      ActionKind = "reopen"
	ActSignOff     ActionKind = "signoff"
	ActNote        ActionKind = "note"
	ActBreach      ActionKind = "breach"
	ActReclassify  ActionKind = "reclassify"
)

// Action is one thing done to an incident: by whom, when, and the words
// that go with it (a note, a result, a reason).
type Action struct {
	Kind  ActionKind `json:"kind"`
	Actor string     `json:"actor"`
	At    time.Time  `json:"at"`
	Text  string     `json:"text,omitempty"`
	// Class is the new class, for ActReclassify.
	Class vocab.Class `json:"class,omitempty"`
	// ResolvedAt, for ActResolve, is when the symptoms ended, if that was
	// before At (the watchdog resolves as of then); zero means At.
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

// Apply returns the incident after the action, or an error that wraps
// ErrFrozen (signed off), ErrMerged (merged into another), ErrTransition
// (the action does not apply in its state) or ErrBadAction (no actor, an
// empty note, an unknown class). The input is not changed. Deadlines come
// from policy.
func Apply(inc Incident, a Action, policy config.IncidentPolicy) (Incident, error) {
	if inc.State == StateSignedOff {
		return inc, fmt.Errorf("%s %s: %w", a.Kind, inc.ID, ErrFrozen)
	}
	if strings.TrimSpace(a.Actor) == "" {
		return inc, fmt.Errorf("%s %s: who does it is required: %w", a.Kind, inc.ID, ErrBadAction)
	}
	if inc.State == StateMerged && a.Kind != ActNote {
		return inc, fmt.Errorf("%s %s: merged into %s, act on that one: %w", a.Kind, inc.ID, inc.MergedInto, ErrMerged)
	}
	refuse := func(why string) (Incident, error) {
		return inc, fmt.Errorf("%s %s: %s: %w", a.Kind, inc.ID, why, ErrTransition)
	}
	out := inc.clone()
	switch a.Kind {
	case ActAcknowledge:
		if out.State != StateOpen {
			return refuse("it is " + string(out.State))
		}
		out.State, out.AcknowledgedAt = StateAcknowledged, a.At
		out.log(a.At, a.Actor, "acknowledged", orDefault(a.Text, "acknowledged (确认接单)"))
	case ActMitigate:
		if out.State != StateOpen && out.State != StateAcknowledged {
			return refuse("it is " + string(out.State))
		}
		if out.AcknowledgedAt.IsZero() {
			out.AcknowledgedAt = a.At
		}
		out.State, out.MitigatedAt = StateMitigated, a.At
		out.log(a.At, a.Actor, "mitigated", orDefault(a.Text, "mitigated"))
	case ActResolve:
		if !out.State.Active() {
			return refuse("it is " + string(out.State))
		}
		at := a.At
		if !a.ResolvedAt.IsZero() && a.ResolvedAt.Before(at) {
			at = a.ResolvedAt
		}
		at = maxTime(at, out.spellStart())
		out.State, out.ResolvedAt, out.ClearingSince = StateResolved, at, time.Time{}
		if a.Text != "" {
			out.Result = a.Text
		}
		out.log(a.At, a.Actor, "resolved", orDefault(a.Text, "resolved (排除)"))
		if !out.Breached && at.After(out.Deadline) {
			out.Breached, out.BreachedAt = true, out.Deadline
			out.log(a.At, Actor, "breached", fmt.Sprintf("resolved %s after the %s deadline", at.Sub(out.Deadline).Round(time.Second), out.Class))
		}
	case ActReopen:
		if out.State != StateResolved {
			return refuse("it is " + string(out.State))
		}
		out.PriorHandling += out.ResolvedAt.Sub(out.spellStart())
		out.State, out.ResolvedAt, out.Result, out.ReopenedAt = StateOpen, time.Time{}, "", a.At
		out.AcknowledgedAt, out.MitigatedAt, out.ClearingSince = time.Time{}, time.Time{}, time.Time{}
		out.Reopens++
		out.log(a.At, a.Actor, "reopened", orDefault(a.Text, "reopened"))
	case ActSignOff:
		if out.State != StateResolved {
			return refuse("only a resolved incident is signed off, and it is " + string(out.State))
		}
		out.State, out.SignedOffAt, out.SignedOffBy = StateSignedOff, a.At, a.Actor
		out.log(a.At, a.Actor, "signed_off", orDefault(a.Text, "signed off (中心签字认可)"))
	case ActNote:
		if strings.TrimSpace(a.Text) == "" {
			return inc, fmt.Errorf("note %s: the note is empty: %w", inc.ID, ErrBadAction)
		}
		out.log(a.At, a.Actor, "note", a.Text)
	case ActBreach:
		switch {
		case !out.State.Active() || out.Breached || a.At.Before(out.Deadline):
			return refuse("not past an unmet deadline")
		case !out.ClearingSince.IsZero() && out.ClearingSince.Before(out.Deadline):
			return refuse("its symptoms ended before the deadline")
		}
		out.Breached, out.BreachedAt = true, out.Deadline
		out.log(a.At, a.Actor, "breached", fmt.Sprintf("%s deadline %s passed unresolved", out.Class, out.Deadline.Format(time.RFC3339)))
	case ActReclassify:
		d, ok := policy.Deadlines.Of(a.Class)
		if !ok {
			return inc, fmt.Errorf("reclassify %s: unknown class %q (want %s): %w", inc.ID, a.Class, strings.Join(vocab.Strings(vocab.Classes), ", "), ErrBadAction)
		}
		if a.Class == out.Class {
			return refuse("it is already " + string(a.Class))
		}
		old := out.Class
		out.Class, out.ClassRule = a.Class, "set by "+a.Actor
		out.Deadline = out.OpenedAt.Add(d)
		out.log(a.At, a.Actor, "reclassified", fmt.Sprintf("%s → %s, deadline %s%s", old, a.Class, out.Deadline.Format(time.RFC3339), suffix(a.Text)))
	default:
		return inc, fmt.Errorf("unknown action %q: %w", a.Kind, ErrBadAction)
	}
	return out, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}
