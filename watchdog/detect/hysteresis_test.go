package detect

import (
	"testing"
	"time"
)

func TestHysteresis(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
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
				s, got = tt.h.Step(s, st.cond, t0.Add(st.at))
				if got != st.want {
					t.Fatalf("step %d (at %s, cond %v): %s, want %s", i, st.at, st.cond, got, st.want)
				}
			}
		})
	}
}

func TestHysteresisPendingAndOnset(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	h := Hysteresis{For: 5 * time.Second}
	s, _ := h.Step(State{}, true, t0)
	if !s.Pending() || !s.Onset.Equal(t0) {
		t.Fatalf("after first true: %+v", s)
	}
	s, tr := h.Step(s, true, t0.Add(5*time.Second))
	if tr != Fired || s.Pending() || !s.Onset.Equal(t0) || !s.FiredAt.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("fired: %s %+v", tr, s)
	}
}
