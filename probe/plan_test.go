package probe

import (
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func keys(as []Assignment) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.Key)
	}
	return out
}

func TestDesired(t *testing.T) {
	noPatrol := Policy{Lead: 10 * time.Minute, Tail: 10 * time.Minute}
	s1 := Session{ID: "S1", Room: "hall-1", OpensAt: at(time.Hour), ExpectedDuration: time.Hour}
	s2 := Session{ID: "S2", Room: "hall-1", OpensAt: at(2*time.Hour + 5*time.Minute), ExpectedDuration: time.Hour}
	s3 := Session{ID: "S3", Room: "hall-2", OpensAt: at(time.Hour), ExpectedDuration: 30 * time.Minute, Cancelled: true}
	adhoc := Session{ID: "adhoc:1-0", Room: "hall-2", OpensAt: at(0), ExpectedDuration: 10 * time.Minute, AdHoc: true}
	tests := []struct {
		name     string
		now      time.Time
		sessions []Session
		policy   Policy
		want     []string
	}{
		{"before lead", at(49*time.Minute + 59*time.Second), []Session{s1}, noPatrol, []string{}},
		{"at lead", at(50 * time.Minute), []Session{s1}, noPatrol, []string{"session:S1@hall-1"}},
		{"during", at(90 * time.Minute), []Session{s1}, noPatrol, []string{"session:S1@hall-1"}},
		{"in tail", at(2*time.Hour + 9*time.Minute), []Session{s1}, noPatrol, []string{"session:S1@hall-1"}},
		{"after tail", at(2*time.Hour + 10*time.Minute), []Session{s1}, noPatrol, []string{}},
		{"overlap in one room", at(2*time.Hour + 5*time.Minute), []Session{s1, s2}, noPatrol,
			[]string{"session:S1@hall-1", "session:S2@hall-1"}},
		{"cancelled", at(time.Hour), []Session{s3}, noPatrol, []string{}},
		{"adhoc has no lead", at(-time.Second), []Session{adhoc}, noPatrol, []string{}},
		{"adhoc now", at(0), []Session{adhoc}, noPatrol, []string{"adhoc:1-0@hall-2"}},
		{"adhoc has no tail", at(10 * time.Minute), []Session{adhoc}, noPatrol, []string{}},
		{"moved later", at(55 * time.Minute), []Session{{ID: "S1", Room: "hall-1", OpensAt: at(70 * time.Minute), ExpectedDuration: time.Hour}}, noPatrol, []string{}},
		{"moved to another room", at(time.Hour), []Session{{ID: "S1", Room: "hall-3", OpensAt: at(time.Hour), ExpectedDuration: time.Hour}}, noPatrol, []string{"session:S1@hall-3"}},
		{"zero lead and tail", at(time.Hour - time.Nanosecond), []Session{s1}, Policy{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := keys(Desired(tt.now, tt.sessions, tt.policy))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Desired = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDesiredPatrol(t *testing.T) {
	p := Policy{PatrolInterval: 15 * time.Minute, PatrolDuration: time.Minute, PatrolRooms: []string{"a", "b", "c"}}
	// t0 is aligned to 15 min; rooms are staggered by 5 min.
	tests := []struct {
		now  time.Duration
		want []string
	}{
		{0, []string{"patrol:a@2026-11-02T09:00:00Z"}},
		{59 * time.Second, []string{"patrol:a@2026-11-02T09:00:00Z"}},
		{time.Minute, []string{}},
		{5 * time.Minute, []string{"patrol:b@2026-11-02T09:05:00Z"}},
		{10*time.Minute + 30*time.Second, []string{"patrol:c@2026-11-02T09:10:00Z"}},
		{15 * time.Minute, []string{"patrol:a@2026-11-02T09:15:00Z"}},
	}
	for _, tt := range tests {
		got := keys(Desired(at(tt.now), nil, p))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("at +%v: Desired = %v, want %v", tt.now, got, tt.want)
		}
	}

	// Every room is visited within one interval.
	seen := map[string]bool{}
	for d := time.Duration(0); d < p.PatrolInterval; d += 10 * time.Second {
		for _, a := range Desired(at(d), nil, p) {
			seen[a.Room] = true
		}
	}
	if len(seen) != 3 {
		t.Errorf("rooms patrolled in one interval: %v", seen)
	}

	// A room with a session is not patrolled; the others are.
	busy := []Session{{ID: "S", Room: "a", OpensAt: at(-time.Minute), ExpectedDuration: time.Hour}}
	got := keys(Desired(at(0), busy, p))
	if want := []string{"session:S@a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("patrol during a session: %v, want %v", got, want)
	}
	p.PatrolInterval = 0
	if got := Desired(at(0), nil, p); len(got) != 0 {
		t.Errorf("patrol disabled: %v", got)
	}
}

func TestNextChange(t *testing.T) {
	p := Policy{Lead: 10 * time.Minute, Tail: 5 * time.Minute}
	s := []Session{
		{ID: "S1", Room: "r", OpensAt: at(time.Hour), ExpectedDuration: time.Hour},
		{ID: "S2", Room: "r", OpensAt: at(30 * time.Minute), ExpectedDuration: time.Hour, Cancelled: true},
	}
	tests := []struct {
		now, want time.Duration
		zero      bool
	}{
		{now: 0, want: 50 * time.Minute},
		{now: 50 * time.Minute, want: 2*time.Hour + 5*time.Minute},
		{now: 3 * time.Hour, zero: true},
	}
	for _, tt := range tests {
		got := NextChange(at(tt.now), s, p)
		if tt.zero {
			if !got.IsZero() {
				t.Errorf("at +%v: NextChange = %v, want none", tt.now, got)
			}
			continue
		}
		if !got.Equal(at(tt.want)) {
			t.Errorf("at +%v: NextChange = %v, want +%v", tt.now, got.Sub(t0), tt.want)
		}
	}
	p = Policy{PatrolInterval: 15 * time.Minute, PatrolDuration: time.Minute, PatrolRooms: []string{"a", "b", "c"}}
	if got := NextChange(at(0), nil, p); !got.Equal(at(time.Minute)) {
		t.Errorf("patrol: NextChange = +%v, want +1m (a's patrol ends)", got.Sub(t0))
	}
	if got := NextChange(at(time.Minute), nil, p); !got.Equal(at(5 * time.Minute)) {
		t.Errorf("patrol: NextChange = +%v, want +5m (b's patrol starts)", got.Sub(t0))
	}
}

func TestDiff(t *testing.T) {
	running := map[string]Assignment{"a": {Key: "a"}, "b": {Key: "b"}}
	start, stop := diff(running, []Assignment{{Key: "b"}, {Key: "c"}})
	if len(start) != 1 || start[0].Key != "c" || !reflect.DeepEqual(stop, []string{"a"}) {
		t.Errorf("diff: start %v, stop %v", start, stop)
	}
}
