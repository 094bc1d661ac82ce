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
	// Onset is when the condition was last seen to begin (zero while clear
	// and not firing).
	Onset time.Time
	// Firing is true from the time the condition held for For until it has
	// been clear for ClearAfter.
	Firing  bool
	FiredAt time.Time
	// ClearSince is when a firing condition was first seen clear again
	// (zero while it holds).
	ClearSince time.Time
}

// Pending reports whether the condition holds but has not held long enough
// to fire.
func (s State) Pending() bool { return !s.Firing && !s.Onset.IsZero() }

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

// Step advances a condition's state to now, given whether the condition
// holds now.
func (h Hysteresis) Step(s State, cond bool, now time.Time) (State, Transition) {
	if !s.Firing {
		if !cond {
			return State{}, None
		}
		if s.Onset.IsZero() {
			s.Onset = now
		}
		if now.Sub(s.Onset) >= h.For {
			s.Firing, s.FiredAt, s.ClearSince = true, now, time.Time{}
			return s, Fired
		}
		return s, None
	}
	if cond {
		s.ClearSince = time.Time{}
		return s, None
	}
	if s.ClearSince.IsZero() {
		s.ClearSince = now
	}
	if now.Sub(s.ClearSince) >= h.ClearAfter {
		return State{}, Cleared
	}
	return s, None
}
