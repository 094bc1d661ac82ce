package drill

import (
	"reflect"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/synthetic/hall/media"
)

func ptr[T any](v T) *T { return &v }

func TestParseValid(t *testing.T) {
	s, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lag := hall.Fault{LatencyMS: 600, JitterMS: 100}
	want := []Drill{
		{
			Name: "media server jd-media-1 saturated: CPU 97 %", Hold: time.Minute, Pause: 75 * time.Second,
			Faults: []Fault{{
				Server:     "jd-media-1",
				Health:     hall.Health{CPUPct: ptr(97.0), MemPct: ptr(88.0), DBConnsPct: ptr(95.0), DiskPct: ptr(90.0)},
				RoomsFault: &lag,
			}},
			Expect: []Expect{{
				Cause: CauseServer, Subject: "jd-media-1", Rooms: []string{"jd-hall-1", "jd-coord-1"}, Place: []string{"jd"},
				OpenWithin: 45 * time.Second, ResolveWithin: time.Minute,
			}},
		},
		{
			Name: "高邮线路拥塞 (path gy congested)", After: ptr(20 * time.Second), Hold: 40 * time.Second, Pause: 30 * time.Second,
			Faults: []Fault{{Path: "gy", Delay: 700 * time.Millisecond}, {Path: "yz", Cut: true}},
			// Defaults: open while it holds, resolved within its pause.
			Expect: []Expect{{Cause: CauseNetwork, Subject: "gy", OpenWithin: 40 * time.Second, ResolveWithin: 30 * time.Second}},
		},
		{
			Name: "gateway drops its bidders", Hold: 15 * time.Second, Repeat: 5 * time.Second, Pause: 45 * time.Second,
			Faults: []Fault{{Room: "yz-hall-1", RoomFault: hall.Fault{
				LatencyMS: 600, JitterMS: 100, LossPct: 5, StallMS: 1000, Drop: true, Refuse: true,
				Fault: media.Fault{FreezeMS: 500, PacketLossPct: 2, MediaDelayMS: 50, MediaJitterMS: 10, BitratePct: 20, KillICE: true, RefuseSessions: true},
			}}},
			Expect: []Expect{{Cause: CauseRoom, Subject: "yz-hall-1", OpenWithin: 15 * time.Second, ResolveWithin: 45 * time.Second}},
		},
		{
			Name: "again", Hold: time.Minute, Pause: time.Minute,
			Faults: []Fault{{Server: "jd-media-1", Health: hall.Health{CPUPct: ptr(97.0)}}},
			Expect: []Expect{{Cause: CauseServer, Subject: "jd-media-1", OpenWithin: time.Minute, ResolveWithin: time.Minute, Relapse: true}},
		},
	}
	if s.Name != "全部字段 (every key)" || s.Start != 5*time.Second {
		t.Errorf("name %q start %s", s.Name, s.Start)
	}
	if len(s.Drills) != len(want) {
		t.Fatalf("%d drills, want %d", len(s.Drills), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(s.Drills[i], want[i]) {
			t.Errorf("drills[%d]:\n got %+v\nwant %+v", i, s.Drills[i], want[i])
		}
	}
	if got := s.Drills[0].Title(); got != "media server jd-media-1 saturated" {
		t.Errorf("Title() = %q", got)
	}
	if got := s.Drills[0].Faults[0].String(); got != "server jd-media-1" {
		t.Errorf("Fault.String() = %q", got)
	}
	if got := s.Drills[1].Expect[0].Key(); got != "network:gy" {
		t.Errorf("Expect.Key() = %q", got)
	}
}

func TestTimeline(t *testing.T) {
	d := func(hold, pause time.Duration, after ...time.Duration) Drill {
		dr := Drill{Hold: hold, Pause: pause}
		if len(after) > 0 {
			dr.After = &after[0]
		}
		return dr
	}
	const s = time.Second
	tests := []struct {
		name   string
		script Script
		want   []Span
		length time.Duration
	}{
		{"in a row", Script{Start: 20 * s, Drills: []Drill{d(60*s, 30*s), d(10*s, 5*s)}},
			[]Span{{20 * s, 80 * s}, {110 * s, 120 * s}}, 125 * s},
		{"an overlapping pair, then one after both", Script{Drills: []Drill{d(90*s, 60*s), d(40*s, 60*s, 20*s), d(10*s, 0)}},
			[]Span{{0, 90 * s}, {20 * s, 60 * s}, {150 * s, 160 * s}}, 160 * s},
		{"a short first, a long second from its start", Script{Drills: []Drill{d(10*s, 10*s), d(60*s, 90*s, 5*s), d(s, s)}},
			[]Span{{0, 10 * s}, {5 * s, 65 * s}, {155 * s, 156 * s}}, 157 * s},
		{"after on the first counts from the start", Script{Start: 10 * s, Drills: []Drill{d(10*s, 0, 5*s)}},
			[]Span{{15 * s, 25 * s}}, 25 * s},
		{"at once", Script{Drills: []Drill{d(10*s, 20*s), d(10*s, 0, 0)}},
			[]Span{{0, 10 * s}, {0, 10 * s}}, 30 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.script.Timeline(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Timeline() = %v, want %v", got, tt.want)
			}
			if got := tt.script.Length(); got != tt.length {
				t.Errorf("Length() = %s, want %s", got, tt.length)
			}
		})
	}
}

func TestSteps(t *testing.T) {
	const s = time.Second
	sc := Script{Drills: []Drill{
		{Hold: 12 * s, Repeat: 5 * s, Pause: 0},
		{Hold: 3 * s},
	}}
	want := []step{
		{0, stepStart, 0}, {5 * s, stepRepeat, 0}, {10 * s, stepRepeat, 0},
		{12 * s, stepStop, 0}, {12 * s, stepStart, 1}, {15 * s, stepStop, 1},
	}
	if got := sc.steps(); !reflect.DeepEqual(got, want) {
		t.Errorf("steps() = %v, want %v", got, want)
	}
}

// TestCheckBuiltInGo: a script written in Go, not parsed, has no lines
// and leaves the expectations' times to their defaults.
func TestCheckBuiltInGo(t *testing.T) {
	top := Topology{Rooms: []string{"r1"}, Servers: map[string][]string{"web-1": {"r1"}}}
	s := &Script{Drills: []Drill{{
		Name: "r1 lags", Hold: time.Minute, Pause: time.Minute,
		Faults: []Fault{{Room: "r1", RoomFault: hall.Fault{LatencyMS: 600}}},
		Expect: []Expect{{Cause: CauseRoom, Subject: "r1"}},
	}}}
	if err := s.Check(top); err != nil {
		t.Fatal(err)
	}
	s.Drills[0].Pause = 0
	s.Drills[0].Faults = append(s.Drills[0].Faults, Fault{Server: "web-9", Health: hall.Health{Down: true}})
	checkProblems(t, s.Check(top), []string{`drills[0].expect[0].resolve_within: required: the drill has no pause to default it to`})
	s.Drills[0].Pause = time.Minute
	checkProblems(t, s.Check(top), []string{`drills[0].faults[1].server: unknown server "web-9"`})
}
