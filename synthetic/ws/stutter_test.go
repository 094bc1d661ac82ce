package ws

import (
	"testing"
	"time"
)

// tickEvent is one step fed to a tickTracker in a table test.
type tickEvent struct {
	at     time.Duration // since t0
	kind   string        // "tick", "window", "stop"
	seq    int64
	hasSeq bool
}

func TestTickTracker(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tick := func(at int, seq int64) tickEvent { return tickEvent{at: ms(at), kind: "tick", seq: seq, hasSeq: true} }
	win := func(at int) tickEvent { return tickEvent{at: ms(at), kind: "window"} }
	stop := func(at int) tickEvent { return tickEvent{at: ms(at), kind: "stop"} }

	tests := []struct {
		name    string
		period  time.Duration
		events  []tickEvent
		want    []tickWindow // one per "window" event, in order
		wantEnd tickWindow   // what is left after the last event
	}{
		{
			name:   "steady stream has no stutter",
			period: ms(100),
			events: []tickEvent{tick(100, 1), tick(200, 2), tick(300, 3), win(1000)},
			// the open gap at the window end (700 ms) is past 200 ms: stutter
			want: []tickWindow{{episodes: 1, stutter: ms(700), largest: ms(700), received: 3}},
		},
		{
			name:   "gap shorter than the threshold is not stutter",
			period: ms(100),
			events: []tickEvent{tick(0, 1), tick(100, 2), tick(290, 3), tick(390, 4), win(400)},
			want:   []tickWindow{{largest: ms(190), received: 4, jitter: ms(30)}},
		},
		{
			name:   "stall inside one window: one episode, the whole gap",
			period: ms(100),
			events: []tickEvent{tick(0, 1), tick(100, 2), tick(2150, 3), tick(2250, 4), win(2300)},
			want:   []tickWindow{{episodes: 1, stutter: ms(2050), largest: ms(2050), received: 4, jitter: ms(650)}},
		},
		{
			name:   "stall across windows: flagged while it lasts, counted once, time split",
			period: ms(100),
			events: []tickEvent{tick(0, 1), tick(100, 2), tick(200, 3), tick(300, 4), tick(400, 5), tick(500, 6),
				tick(600, 7), tick(700, 8), tick(800, 9), tick(900, 10), win(1000), win(2000), tick(2900, 11), win(3000)},
			want: []tickWindow{
				{received: 10, largest: ms(100)},
				{episodes: 1, stutter: ms(1100), largest: ms(1100)},
				{stutter: ms(900), largest: ms(2000), received: 1, jitter: ms(1900)},
			},
		},
		{
			name:   "sequence gaps are missed events, duplicates are not",
			period: ms(100),
			events: []tickEvent{tick(0, 5), tick(100, 6), tick(200, 9), tick(300, 9), tick(400, 10), win(450)},
			want:   []tickWindow{{missed: 2, received: 5, largest: ms(100)}},
		},
		{
			name:    "a dropout ends the episode: the outage is not stutter",
			period:  ms(100),
			events:  []tickEvent{tick(0, 1), win(1000), stop(1500)},
			want:    []tickWindow{{episodes: 1, stutter: ms(1000), largest: ms(1000), received: 1}},
			wantEnd: tickWindow{stutter: ms(500)},
		},
		{
			name:    "silence cut short by a dropout is stutter too",
			period:  ms(100),
			events:  []tickEvent{tick(0, 1), tick(100, 2), stop(450)},
			wantEnd: tickWindow{episodes: 1, stutter: ms(350), largest: ms(100), received: 2},
		},
		{
			name:   "no period: no stutter, still counts sequence gaps",
			period: 0,
			events: []tickEvent{tick(0, 1), tick(5000, 3), win(6000)},
			want:   []tickWindow{{missed: 1, received: 2}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newTickTracker(tc.period, 2)
			k.start(t0)
			var got []tickWindow
			for _, e := range tc.events {
				at := t0.Add(e.at)
				switch e.kind {
				case "tick":
					k.tick(at, e.seq, e.hasSeq)
				case "window":
					k.windowEnd(at)
					got = append(got, k.take())
				case "stop":
					k.stop(at)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d windows, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("window %d:\n got %+v\nwant %+v", i, got[i], tc.want[i])
				}
			}
			if end := k.take(); end != tc.wantEnd {
				t.Errorf("after the last event:\n got %+v\nwant %+v", end, tc.wantEnd)
			}
		})
	}
}

func TestTickTrackerSequenceAcrossReconnects(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	k := newTickTracker(100*time.Millisecond, 2)
	k.start(at(0))
	k.tick(at(100), 10, true)
	k.tick(at(200), 11, true)
	k.stop(at(250))
	k.start(at(600)) // back after an outage: the join ack says 15
	k.tick(at(610), 15, true)
	if w := k.take(); w.missed != 3 {
		t.Errorf("missed %d across the outage, want 3 (12, 13, 14)", w.missed)
	}
	k.stop(at(700))
	k.start(at(800)) // the server restarted and numbers from 1 again
	k.tick(at(810), 1, true)
	k.tick(at(910), 2, true)
	k.tick(at(1010), 4, true)
	if w := k.take(); w.missed != 1 {
		t.Errorf("missed %d after a server restart, want 1 (3)", w.missed)
	}
}
