package media

import (
	"testing"
	"time"
)

func TestKeyGate(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type step struct {
		ms      int
		request bool // a PLI arrives just before this frame
		natural bool // the frame is a keyframe anyway
		want    bool // jump to a keyframe
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"no request, no jump", []step{{0, false, false, false}, {40, false, true, false}}},
		{"a request jumps at once", []step{{0, true, false, true}, {40, false, false, false}}},
		{"a natural keyframe answers it", []step{{0, true, true, false}, {40, false, false, false}}},
		{"a second request waits for the gap", []step{
			{0, true, false, true}, {40, true, false, false}, {80, false, false, false},
			{480, false, false, false}, {520, false, false, true}, {560, false, false, false},
		}},
		{"a natural keyframe answers the waiting one", []step{
			{0, true, false, true}, {200, true, false, false}, {240, false, true, false}, {600, false, false, false},
		}},
		{"after the gap at once", []step{{0, true, false, true}, {500, true, false, true}}},
		{"many requests, one keyframe", []step{
			{0, true, false, true}, {10, true, false, false}, {20, true, false, false}, {500, false, false, true}, {540, false, false, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := keyGate{minGap: 500 * time.Millisecond}
			for i, s := range tc.steps {
				if s.request {
					g.request()
				}
				if got := g.next(at(s.ms), s.natural); got != s.want {
					t.Fatalf("step %d (%d ms): jump %v, want %v", i, s.ms, got, s.want)
				}
			}
		})
	}
}
