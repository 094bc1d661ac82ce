package rtc

import (
	"testing"
	"time"
)

func TestPLIDecision(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	const after = 150 * time.Millisecond
	tests := []struct {
		name             string
		since, last, now time.Time
		after            time.Duration
		send             bool
		next             time.Time
	}{
		{"not blocked", time.Time{}, time.Time{}, ms(500), after, false, time.Time{}},
		{"not blocked, a PLI long ago", time.Time{}, ms(100), ms(500), after, false, time.Time{}},
		{"blocked, NACKs still at work", ms(0), time.Time{}, ms(100), after, false, ms(150)},
		{"blocked for pliAfter", ms(0), time.Time{}, ms(150), after, true, ms(450)},
		{"blocked, late look", ms(0), time.Time{}, ms(170), after, true, ms(470)},
		{"no NACK: at once", ms(0), time.Time{}, ms(0), 0, true, ms(300)},
		{"a PLI sent, no keyframe yet", ms(0), ms(150), ms(300), after, false, ms(450)},
		{"repeat after 300 ms", ms(0), ms(150), ms(450), after, true, ms(750)},
		// A PLI of an earlier blocking does not count for a new one.
		{"new blocking after an old PLI", ms(1000), ms(150), ms(1100), after, false, ms(1150)},
		{"new blocking, its first PLI", ms(1000), ms(150), ms(1150), after, true, ms(1450)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			send, next := pliDecision(tc.since, tc.last, tc.now, tc.after)
			if send != tc.send || !next.Equal(tc.next) {
				t.Errorf("pliDecision = %v, %v; want %v, %v", send, next.Sub(t0), tc.send, tc.next.Sub(t0))
			}
		})
	}
}
