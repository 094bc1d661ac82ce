package detect

import "time"

// Hysteresis says how long a condition must hold before it fires (For) and
// how long it must be clear before a firing condition ends (ClearAfter).
type Hysteresis struct {
	For        time.Duration
	ClearAfter time.Duration
}

// State is one condition's hysteresis state. The zero value is "clear".
type State struct {
	// Onset is when the condition began (zero while clear and not firing).
	Onset time.Time
	// Firing is true from the time the condition held for For until it has
	// been clear for ClearAfter.
	Firing  bool
	FiredAt time.Time
	// ClearSince is when a firing condition stopped holding (zero while it
	// holds): the end of the symptoms, if they do not come back.
	ClearSince time.Time
}

// Pending reports whether the condition holds but has not held long enough
// to fire.
func (s State) Pending() bool { return !s.Firing && !s.Onset.IsZero() }

// Holding reports whether the condition holds now: pending, or firing and
// not in its clear phase.
func (s State) Holding() bool { return !s.Onset.IsZero() && s.ClearSince.IsZero() }

// Clearing reports whether a firing condition has stopped holding and waits
// out ClearAfter.
func (s State) Clearing() bool { return s.Firing && !s.ClearSince.IsZero() }

// Obs is what a detector observed at one evaluation: whether the condition
// holds, and when known, when it began (Since) or stopped (Until) holding —
// a detector looking at windows of data knows that better than the time of
// the evaluation.
type Obs struct {
	Holds bool
	Since time.Time
	Until time.Time
}

// Transition is what a Step did.
type Transition int

// The transitions of a Step.
const (
	None Transition = iota
	Fired
	Cleared
)

func (t Transition) String() string {
	switch t {
	case Fired:
		return "fired"
	case Cleared:
		return "cleared"
	}
	return "none"
}

// Step advances a condition's state to now, given what was observed now.
// Onset and ClearSince take the observation's Since and Until when they are
// set and not in the future, so a condition's times are those of the data,
// not of the evaluation; For and ClearAfter are counted from them.
func (h Hysteresis) Step(s State, o Obs, now time.Time) (State, Transition) {
	at := func(t time.Time) time.Time {
		if t.IsZero() || t.After(now) {
			return now
		}
		return t
	}
	if !s.Firing {
		if !o.Holds {
			return State{}, None
		}
		if s.Onset.IsZero() {
			s.Onset = at(o.Since)
		}
		if now.Sub(s.Onset) >= h.For {
			s.Firing, s.FiredAt, s.ClearSince = true, now, time.Time{}
			return s, Fired
		}
		return s, None
	}
	if o.Holds {
		s.ClearSince = time.Time{}
		return s, None
	}
	if s.ClearSince.IsZero() {
		s.ClearSince = at(o.Until)
		if s.ClearSince.Before(s.Onset) {
			s.ClearSince = s.Onset
		}
	}
	if now.Sub(s.ClearSince) >= h.ClearAfter {
		return State{}, Cleared
	}
	return s, None
}
