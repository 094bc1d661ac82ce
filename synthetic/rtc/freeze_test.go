package rtc

import (
	"testing"
	"time"
)

func TestFreezeThreshold(t *testing.T) {
	tests := []struct {
		name string
		durs []time.Duration
		want time.Duration
		ok   bool
	}{
		{"no frame duration yet", nil, 0, false},
		{"25 fps: avg + 150 ms wins", []time.Duration{40 * time.Millisecond}, 190 * time.Millisecond, true},
		{"100 fps: avg + 150 ms", []time.Duration{10 * time.Millisecond}, 160 * time.Millisecond, true},
		{"10 fps: 3 × avg wins", []time.Duration{100 * time.Millisecond}, 300 * time.Millisecond, true},
		{"exactly 75 ms: both 225 ms", []time.Duration{75 * time.Millisecond}, 225 * time.Millisecond, true},
		{"average of two", []time.Duration{30 * time.Millisecond, 50 * time.Millisecond}, 190 * time.Millisecond, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d freezeDetector
			at := time.Unix(1000, 0)
			d.frame(at)
			for _, g := range tc.durs {
				at = at.Add(g)
				d.frame(at)
			}
			got, ok := d.threshold()
			if got != tc.want || ok != tc.ok {
				t.Errorf("threshold = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestFreezeDetector feeds frame gaps (ms) and checks the freezes found, as
// W3C webrtc-stats defines them.
func TestFreezeDetector(t *testing.T) {
	steady := func(n int, gap int) []int {
		g := make([]int, n)
		for i := range g {
			g[i] = gap
		}
		return g
	}
	cat := func(parts ...[]int) []int {
		var out []int
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name      string
		gaps      []int
		wantCount int
		wantMS    int // total freeze duration
	}{
		{"steady 25 fps", steady(100, 40), 0, 0},
		{"gap just under threshold", cat(steady(30, 40), []int{189}), 0, 0},
		{"gap at threshold", cat(steady(30, 40), []int{190}), 1, 190},
		{"one 1 s freeze", cat(steady(30, 40), []int{1040}, steady(10, 40)), 1, 1040},
		{"two freezes", cat(steady(30, 40), []int{500}, steady(30, 40), []int{300}), 2, 800},
		// After a freeze the average is up (the gap counts in it): 29×40 +
		// 500 over 30 = 55.3 ms → threshold 205.3 ms, so 200 ms is no freeze.
		{"average includes the freeze", cat(steady(30, 40), []int{500, 200}), 1, 500},
		// Only the last 30 durations count: after 30 gaps of 40 ms the big
		// early gaps are forgotten.
		{"window of 30", cat(steady(5, 400), steady(30, 40), []int{195}), 1, 195},
		// 10 fps: threshold 300 ms.
		{"10 fps, 250 ms is no freeze", cat(steady(30, 100), []int{250}), 0, 0},
		{"10 fps, 300 ms is", cat(steady(30, 100), []int{300}), 1, 300},
		{"first gap has no average", []int{5000}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d freezeDetector
			at := time.Unix(1000, 0)
			d.frame(at)
			count, total := 0, time.Duration(0)
			for _, g := range tc.gaps {
				at = at.Add(time.Duration(g) * time.Millisecond)
				gap, freeze, isNew := d.frame(at)
				if freeze {
					if !isNew {
						t.Errorf("freeze at %v not new though never flagged", at)
					}
					count++
					total += gap
				}
			}
			if count != tc.wantCount || total != time.Duration(tc.wantMS)*time.Millisecond {
				t.Errorf("freezes = %d (%v), want %d (%d ms)", count, total, tc.wantCount, tc.wantMS)
			}
		})
	}
}

// TestFreezeFlaggedWhileOngoing checks the early flag: Check raises it once
// the gap reaches the threshold, once per freeze, and the frame that ends the
// freeze does not count it again.
func TestFreezeFlaggedWhileOngoing(t *testing.T) {
	var d freezeDetector
	at := time.Unix(1000, 0)
	d.frame(at)
	for range 30 {
		at = at.Add(40 * time.Millisecond)
		d.frame(at)
	}
	dl, ok := d.deadline()
	if !ok || dl != at.Add(190*time.Millisecond) {
		t.Fatalf("deadline = %v, %v; want last frame + 190 ms", dl.Sub(at), ok)
	}
	steps := []struct {
		after time.Duration
		want  bool
	}{
		{100 * time.Millisecond, false},
		{189 * time.Millisecond, false},
		{190 * time.Millisecond, true},
		{300 * time.Millisecond, false}, // already flagged
		{900 * time.Millisecond, false},
	}
	for _, s := range steps {
		if got := d.check(at.Add(s.after)); got != s.want {
			t.Errorf("check at +%v = %v, want %v", s.after, got, s.want)
		}
	}
	if _, ok := d.deadline(); ok {
		t.Error("deadline while a flagged freeze goes on")
	}
	gap, freeze, isNew := d.frame(at.Add(1040 * time.Millisecond))
	if gap != 1040*time.Millisecond || !freeze || isNew {
		t.Errorf("ending frame = %v, freeze %v, new %v; want 1.04 s, true, false", gap, freeze, isNew)
	}
	d.reset()
	if _, ok := d.threshold(); ok {
		t.Error("threshold after reset")
	}
}
