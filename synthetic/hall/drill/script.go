package drill

import (
	"fmt"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/synthetic/hall"
)

// Script is a sequence of drills.
type Script struct {
	// Name says what the script is for; optional.
	Name string `yaml:"name"`
	// Start is the wait before the first drill.
	Start time.Duration `yaml:"start"`
	// Drills run in order, on the timeline Timeline gives.
	Drills []Drill `yaml:"drills"`

	// lines maps the YAML paths of a parsed script to their lines; bad
	// holds the paths whose values could not be decoded.
	lines map[string]int
	bad   map[string]bool
}

// Drill is one step of a script: its faults are set, held, and cleared.
type Drill struct {
	// Name says what goes wrong, in words for the people drilled.
	Name string `yaml:"name"`
	// Hold is how long the faults hold.
	Hold time.Duration `yaml:"hold"`
	// Pause is the quiet time after the drill, before the next one that
	// does not say After: time for its incidents to resolve.
	Pause time.Duration `yaml:"pause"`
	// Repeat, when positive, applies the faults again this often while
	// they hold (a gateway that drops its bidders every 5 s).
	Repeat time.Duration `yaml:"repeat"`
	// After, when set, starts the drill this long after the previous
	// drill's start instead of after every earlier drill and its pause:
	// that is how overlapping faults are written. On the first drill it
	// counts from the script's start.
	After *time.Duration `yaml:"after"`
	// Faults are set when the drill starts, in order, and cleared when it
	// ends, in reverse order.
	Faults []Fault `yaml:"faults"`
	// Expect are the incidents the drill should raise.
	Expect []Expect `yaml:"expect"`
}

// Fault is one fault a drill sets: exactly one of Server, Room and Path is
// set, with its fields.
type Fault struct {
	// Server is a simulated server whose health is pushed to Health, and
	// RoomsFault, when set, is set on every room using it.
	Server     string
	Health     hall.Health
	RoomsFault *hall.Fault

	// Room is a room whose fault is set to RoomFault.
	Room      string
	RoomFault hall.Fault

	// Path is the location whose network path to the hall is delayed by
	// Delay and, with Cut, cut.
	Path  string
	Delay time.Duration
	Cut   bool
}

// Kind is "server", "room" or "path"; "" for a fault that names none.
func (f Fault) Kind() string {
	switch {
	case f.Server != "":
		return "server"
	case f.Room != "":
		return "room"
	case f.Path != "":
		return "path"
	}
	return ""
}

// String names what the fault acts on: "server jd-media-1".
func (f Fault) String() string {
	return strings.TrimSpace(f.Kind() + " " + f.Server + f.Room + f.Path)
}

// pathFault is the path fault f sets.
func (f Fault) pathFault() hall.PathFault {
	return hall.PathFault{DelayMS: float64(f.Delay) / float64(time.Millisecond), Cut: f.Cut}
}

// Cause is what an expected incident is blamed on, in the watchdog's words.
type Cause string

// The causes an expectation can name.
const (
	// CauseServer: a server's own problem explains its rooms' trouble.
	CauseServer Cause = "server"
	// CauseRoom: one room is degraded from everywhere, its servers healthy.
	CauseRoom Cause = "room"
	// CauseNetwork: rooms are degraded from one location only; the subject
	// is that location (the viewer side).
	CauseNetwork Cause = "network"
	// CauseUplink: the rooms hosted at one sub-center are degraded from
	// everywhere but there; the subject is that sub-center (the hosting side).
	CauseUplink Cause = "uplink"
)

// causes lists the causes in the order messages name them.
func causes() []Cause { return []Cause{CauseServer, CauseRoom, CauseNetwork, CauseUplink} }

// Expect is an incident a drill should raise: plain data for whoever holds
// the watchdog's incidents against the drill's timeline.
type Expect struct {
	// Cause and Subject are the incident's cause key: server and a server
	// id, room and a room id, network and a location, uplink and a
	// sub-center.
	Cause   Cause  `yaml:"cause"`
	Subject string `yaml:"subject"`
	// Rooms the incident must include; optional.
	Rooms []string `yaml:"rooms"`
	// Place is the sub-centers it must name; optional.
	Place []string `yaml:"place"`
	// OpenWithin is how long after the drill's start the incident should
	// be open; it defaults to the drill's hold.
	OpenWithin time.Duration `yaml:"open_within"`
	// ResolveWithin is how long after the drill's end it should be
	// resolved; it defaults to the drill's pause.
	ResolveWithin time.Duration `yaml:"resolve_within"`
	// Relapse says the drill repeats an earlier drill's fault: the earlier
	// drill's incident should reopen rather than a new one open.
	Relapse bool `yaml:"relapse"`
}

// Key is the expected incident's cause key, "server:jd-media-1".
func (e Expect) Key() string { return string(e.Cause) + ":" + e.Subject }

// Span is when a drill's faults hold, as offsets from the script's start.
type Span struct {
	Start, End time.Duration
}

// Timeline returns when each drill holds. A drill without After starts once
// every earlier drill has ended and its pause has passed (the first one at
// Start); one with After starts that long after the previous drill's start.
func (s *Script) Timeline() []Span {
	spans := make([]Span, len(s.Drills))
	var free time.Duration = s.Start // when every earlier drill and pause is over
	for i, d := range s.Drills {
		start := free
		if d.After != nil {
			prev := s.Start
			if i > 0 {
				prev = spans[i-1].Start
			}
			start = prev + *d.After
		}
		spans[i] = Span{Start: start, End: start + d.Hold}
		free = max(free, spans[i].End+d.Pause)
	}
	return spans
}

// Length is how long the whole script runs: until every drill has ended
// and its pause has passed.
func (s *Script) Length() time.Duration {
	end := s.Start
	for i, sp := range s.Timeline() {
		end = max(end, sp.End+s.Drills[i].Pause)
	}
	return end
}

// Title is the drill's name up to its first colon: "media server
// jd-media-1 saturated" of "media server jd-media-1 saturated: CPU 97 %".
func (d Drill) Title() string {
	t, _, _ := strings.Cut(d.Name, ":")
	return strings.TrimSpace(t)
}

// describe is the fault list in words, for logs.
func (d Drill) describe() string {
	var b strings.Builder
	for i, f := range d.Faults {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, f)
	}
	return b.String()
}
