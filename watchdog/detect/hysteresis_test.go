package detect

import (
	"testing"
	"time"
)

func TestHysteresis(t *testing.T) {
	type step struct {
		at   time.Duration // since t0
		cond bool
		want Transition
	}
	tests := []struct {
		name  string
		h     Hysteresis
		steps []step
	}{
		{"fires at once with for 0", Hysteresis{ClearAfter: 3 * time.Second}, []step{
			{0, false, None}, {time.Second, true, Fired}, {2 * time.Second, true, None},
		}},
		{"waits for `for`", Hysteresis{For: 2 * time.Second}, []step{
			{0, true, None}, {time.Second, true, None}, {2 * time.Second, true, Fired},
		}},
		{"a break restarts `for`", Hysteresis{For: 2 * time.Second}, []step{
			{0, true, None}, {time.Second, false, None}, {2 * time.Second, true, None}, {3 * time.Second, true, None}, {4 * time.Second, true, Fired},
		}},
		{"clears after clear_after", Hysteresis{ClearAfter: 3 * time.Second}, []step{
			{0, true, Fired}, {time.Second, false, None}, {3 * time.Second, false, None}, {4 * time.Second, false, Cleared}, {5 * time.Second, false, None},
		}},
		{"flaps inside clear_after stay one firing", Hysteresis{ClearAfter: 3 * time.Second}, []step{
			{0, true, Fired},
			{1 * time.Second, false, None}, {2 * time.Second, true, None},
			{3 * time.Second, false, None}, {4 * time.Second, true, None},
			{5 * time.Second, false, None}, {6 * time.Second, true, None},
			{7 * time.Second, false, None}, {9 * time.Second, false, None}, {10 * time.Second, false, Cleared},
		}},
		{"clear_after 0 clears on the first clear step", Hysteresis{}, []step{
			{0, true, Fired}, {time.Second, false, Cleared},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s State
			for i, st := range tt.steps {
				var got Transition
				s, got = tt.h.Step(s, Obs{Holds: st.cond}, t0.Add(st.at))
				if got != st.want {
					t.Fatalf("step %d (at %s, holds %v): %s, want %s", i, st.at, st.cond, got, st.want)
				}
			}
		})
	}
}

func TestHysteresisPendingAndOnset(t *testing.T) {
	h := Hysteresis{For: 5 * time.Second, ClearAfter: 5 * time.Second}
	s, _ := h.Step(State{}, Obs{Holds: true}, t0)
	if !s.Pending() || !s.Holding() || !s.Onset.Equal(t0) {
		t.Fatalf("after first hold: %+v", s)
	}
	s, tr := h.Step(s, Obs{Holds: true}, t0.Add(5*time.Second))
	if tr != Fired || s.Pending() || !s.Holding() || !s.Onset.Equal(t0) || !s.FiredAt.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("fired: %s %+v", tr, s)
	}
	s, _ = h.Step(s, Obs{}, t0.Add(6*time.Second))
	if !s.Clearing() || s.Holding() || !s.ClearSince.Equal(t0.Add(6*time.Second)) {
		t.Fatalf("clearing: %+v", s)
	}
}

// TestHysteresisDataTimes pins down that a condition's onset and end are
// the data's (Obs.Since, Obs.Until), not the evaluation's, and that For and
// ClearAfter count from them.
func TestHysteresisDataTimes(t *testing.T) {
	type step struct {
		at           int // seconds since t0
		obs          Obs
		want         Transition
		onset, clear time.Time // the state after the step
		firing       bool
	}
	var zero time.Time
	tests := []struct {
		name  string
		h     Hysteresis
		steps []step
	}{
		{"onset is the data's since, for counts from it", Hysteresis{For: 5 * time.Second}, []step{
			{10, Obs{Holds: true, Since: at(7)}, None, at(7), zero, false},
			// A later Since does not move the onset of a pending condition.
			{11, Obs{Holds: true, Since: at(9)}, None, at(7), zero, false},
			{12, Obs{Holds: true, Since: at(9)}, Fired, at(7), zero, true},
		}},
		{"data that began long enough ago fires at once", Hysteresis{For: 5 * time.Second}, []step{
			{10, Obs{Holds: true, Since: at(5)}, Fired, at(5), zero, true},
		}},
		{"no since is now", Hysteresis{For: 5 * time.Second}, []step{
			{10, Obs{Holds: true}, None, at(10), zero, false},
		}},
		{"a since in the future is now", Hysteresis{For: 5 * time.Second}, []step{
			{10, Obs{Holds: true, Since: at(12)}, None, at(10), zero, false},
		}},
		{"clear since is the data's until, clear_after counts from it", Hysteresis{ClearAfter: 3 * time.Second}, []step{
			{0, Obs{Holds: true}, Fired, at(0), zero, true},
			{5, Obs{Until: at(3)}, None, at(0), at(3), true},
			// A later Until does not move it either.
			{6, Obs{Until: at(5)}, Cleared, zero, zero, false},
		}},
		{"an until before the onset is the onset", Hysteresis{ClearAfter: 5 * time.Second}, []step{
			{10, Obs{Holds: true, Since: at(8)}, Fired, at(8), zero, true},
			{11, Obs{Until: at(6)}, None, at(8), at(8), true},
			{12, Obs{Until: at(6)}, None, at(8), at(8), true},
			{13, Obs{Until: at(6)}, Cleared, zero, zero, false},
		}},
		{"an until in the future is now", Hysteresis{ClearAfter: 5 * time.Second}, []step{
			{0, Obs{Holds: true}, Fired, at(0), zero, true},
			{4, Obs{Until: at(9)}, None, at(0), at(4), true},
		}},
		{"no until is now", Hysteresis{ClearAfter: 5 * time.Second}, []step{
			{0, Obs{Holds: true}, Fired, at(0), zero, true},
			{4, Obs{}, None, at(0), at(4), true},
		}},
		{"symptoms back while clearing: clear since starts over", Hysteresis{ClearAfter: 3 * time.Second}, []step{
			{0, Obs{Holds: true}, Fired, at(0), zero, true},
			{2, Obs{Until: at(1)}, None, at(0), at(1), true},
			{3, Obs{Holds: true, Since: at(3)}, None, at(0), zero, true},
			{5, Obs{Until: at(4)}, None, at(0), at(4), true},
			{6, Obs{Until: at(4)}, None, at(0), at(4), true},
			{7, Obs{Until: at(4)}, Cleared, zero, zero, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s State
			for i, st := range tt.steps {
				var got Transition
				s, got = tt.h.Step(s, st.obs, at(float64(st.at)))
				if got != st.want {
					t.Fatalf("step %d (at %d s, %+v): %s, want %s", i, st.at, st.obs, got, st.want)
				}
				if !s.Onset.Equal(st.onset) || !s.ClearSince.Equal(st.clear) || s.Firing != st.firing {
					t.Fatalf("step %d (at %d s): state %+v, want onset %s clear since %s firing %v",
						i, st.at, s, st.onset, st.clear, st.firing)
				}
			}
		})
	}
}

func TestTransitionString(t *testing.T) {
	for tr, want := range map[Transition]string{None: "none", Fired: "fired", Cleared: "cleared"} {
		if got := tr.String(); got != want {
			t.Errorf("%d: %q, want %q", tr, got, want)
		}
	}
}
