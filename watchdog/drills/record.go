package drills

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall/drill"
)

// RunState says whether a run is still going.
type RunState string

// The states of a run.
const (
	// RunRunning: the script is being played (or its player died: a run
	// whose UpdatedAt is long past is shown as such).
	RunRunning RunState = "running"
	// RunFinished: the script played to its end.
	RunFinished RunState = "finished"
	// RunInterrupted: the player stopped before the end; the drills still
	// holding were cleared.
	RunInterrupted RunState = "interrupted"
)

// Chinese names the state for people.
func (s RunState) Chinese() string {
	switch s {
	case RunRunning:
		return "进行中"
	case RunFinished:
		return "已完成"
	case RunInterrupted:
		return "中途停止"
	}
	return string(s)
}

// Run is one play of a drill script, as recorded.
type Run struct {
	// ID names the run: "20261203-164105-3f2a" (its start, UTC, and a
	// random tail).
	ID string `json:"id"`
	// Script is the script's name; File where it came from ("demo" for
	// the embedded one).
	Script string `json:"script"`
	File   string `json:"file,omitempty"`
	// Host is the player: the hall or demo that ran it.
	Host  string   `json:"host,omitempty"`
	State RunState `json:"state"`
	// StartedAt is when the script started (its offsets count from here);
	// EndedAt when it finished or was stopped.
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// PlannedLength is the script's length, its last pause included.
	PlannedLength time.Duration `json:"planned_length_ns"`
	UpdatedAt     time.Time     `json:"updated_at"`
	Drills        []Drill       `json:"drills"`
}

// Drill is one drill of a run: its faults, what was expected of the
// watchdog, and when it actually held.
type Drill struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	Title string `json:"title"`
	// PlannedStart and PlannedEnd are offsets from the run's start.
	PlannedStart time.Duration `json:"planned_start_ns"`
	PlannedEnd   time.Duration `json:"planned_end_ns"`
	// StartedAt is when its faults were set; StoppedAt when they were
	// cleared (zero while they hold).
	StartedAt time.Time `json:"started_at,omitzero"`
	StoppedAt time.Time `json:"stopped_at,omitzero"`
	// Repeats counts the times its faults were set again.
	Repeats     int  `json:"repeats,omitempty"`
	Interrupted bool `json:"interrupted,omitempty"`
	// InjectErrors are what could not be set (when it started or was
	// repeated); ClearErrors what could not be cleared.
	InjectErrors []string `json:"inject_errors,omitempty"`
	ClearErrors  []string `json:"clear_errors,omitempty"`
	Faults       []Fault  `json:"faults"`
	Expect       []Expect `json:"expect,omitempty"`
}

// Started reports whether its faults were set, at least in part.
func (d *Drill) Started() bool { return !d.StartedAt.IsZero() }

// Injected reports whether its faults were set without an error when it
// started.
func (d *Drill) Injected() bool { return d.Started() && len(d.InjectErrors) == 0 }

// Fault is one fault a drill set, with the places it touches.
type Fault struct {
	// Kind is server, room or path; Target the server, room or location.
	Kind   string `json:"kind"`
	Target string `json:"target"`
	// Detail is what was set, "cpu_pct=97 latency_ms=600".
	Detail string `json:"detail,omitempty"`
	// Rooms are the rooms it hurts (a server's: every room using it);
	// Servers the servers; Locations the probe locations it is seen from
	// alone (a network path's); SubCenters those concerned.
	Rooms      []string `json:"rooms,omitempty"`
	Servers    []string `json:"servers,omitempty"`
	Locations  []string `json:"locations,omitempty"`
	SubCenters []string `json:"sub_centers,omitempty"`
}

// String is "server jd-media-1".
func (f Fault) String() string { return f.Kind + " " + f.Target }

// Expect is an incident the script expects the drill to raise.
type Expect struct {
	// Cause and Subject are its cause key's parts.
	Cause   string `json:"cause"`
	Subject string `json:"subject"`
	// Rooms it must include, sub-centers (Place) it must name.
	Rooms []string `json:"rooms,omitempty"`
	Place []string `json:"place,omitempty"`
	// Relapse: an earlier drill's incident should reopen.
	Relapse bool `json:"relapse,omitempty"`
}

// Key is "server:jd-media-1".
func (e Expect) Key() string { return e.Cause + ":" + e.Subject }

// newDrill records a script's drill, its faults placed on the city's
// topology (nil: only what the fault itself names).
func newDrill(i int, d drill.Drill, span drill.Span, city *config.Config) Drill {
	out := Drill{Index: i, Name: d.Name, Title: d.Title(), PlannedStart: span.Start, PlannedEnd: span.End}
	for _, f := range d.Faults {
		out.Faults = append(out.Faults, placeFault(f, city))
	}
	for _, e := range d.Expect {
		out.Expect = append(out.Expect, Expect{Cause: string(e.Cause), Subject: e.Subject,
			Rooms: slices.Clone(e.Rooms), Place: slices.Clone(e.Place), Relapse: e.Relapse})
	}
	return out
}

// placeFault says where a fault is: a server's rooms and their
// sub-centers, a room's sub-center, a path's location.
func placeFault(f drill.Fault, city *config.Config) Fault {
	out := Fault{Kind: f.Kind(), Target: strings.TrimSpace(f.Server + f.Room + f.Path)}
	subCenters := map[string]bool{}
	switch out.Kind {
	case "server":
		out.Servers = []string{f.Server}
		out.Detail = detail(f.Health)
		if f.RoomsFault != nil {
			out.Detail = strings.TrimSpace(out.Detail + " " + detail(*f.RoomsFault))
		}
		if city != nil {
			for _, r := range city.RoomsUsing(f.Server) {
				out.Rooms = append(out.Rooms, r.ID)
				subCenters[r.SubCenter] = true
			}
		}
	case "room":
		out.Rooms = []string{f.Room}
		out.Detail = detail(f.RoomFault)
		if city != nil {
			if r, ok := city.Room(f.Room); ok {
				subCenters[r.SubCenter] = true
				out.Servers = slices.Clone(r.Servers)
			}
		}
	case "path":
		out.Locations = []string{f.Path}
		subCenters[f.Path] = true
		var parts []string
		if f.Delay > 0 {
			parts = append(parts, "delay="+f.Delay.String())
		}
		if f.Cut {
			parts = append(parts, "cut")
		}
		out.Detail = strings.Join(parts, " ")
	}
	out.SubCenters = slices.Sorted(maps.Keys(subCenters))
	return out
}

// detail renders a fault's JSON fields as "key=value …", sorted.
func detail(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch x := m[k].(type) {
		case bool:
			if x {
				parts = append(parts, k)
			}
		case float64:
			if x != 0 {
				parts = append(parts, fmt.Sprintf("%s=%g", k, x))
			}
		default:
			parts = append(parts, fmt.Sprintf("%s=%v", k, x))
		}
	}
	return strings.Join(parts, " ")
}

// NewRun records a script about to be played, every drill planned and
// none started: the run's id, the script and its file, the player (host),
// the start, and the city whose topology places the faults (nil: only
// what each fault names).
func NewRun(id string, s *drill.Script, file, host string, start time.Time, city *config.Config) Run {
	r := Run{ID: id, Script: s.Name, File: file, Host: host, State: RunRunning, StartedAt: start,
		PlannedLength: s.Length(), UpdatedAt: start}
	if r.Script == "" {
		r.Script = file
	}
	spans := s.Timeline()
	for i, d := range s.Drills {
		r.Drills = append(r.Drills, newDrill(i, d, spans[i], city))
	}
	return r
}

// Apply returns the run with a drill event applied: a pure function, the
// recorder's whole logic.
func (r Run) Apply(e drill.Event) Run {
	r.Drills = slices.Clone(r.Drills)
	r.UpdatedAt = e.At
	errs := func(err error) []string {
		if err == nil {
			return nil
		}
		return strings.Split(err.Error(), "\n")
	}
	if e.Kind == drill.Finished {
		r.State, r.EndedAt = RunFinished, e.At
		return r
	}
	if e.Index < 0 || e.Index >= len(r.Drills) {
		return r
	}
	d := &r.Drills[e.Index]
	switch e.Kind {
	case drill.Started:
		d.StartedAt = e.At
		d.InjectErrors = append(slices.Clone(d.InjectErrors), errs(e.Err)...)
	case drill.Repeated:
		d.Repeats++
		d.InjectErrors = append(slices.Clone(d.InjectErrors), errs(e.Err)...)
	case drill.Stopped:
		d.StoppedAt = e.At
		d.Interrupted = e.Interrupted
		d.ClearErrors = append(slices.Clone(d.ClearErrors), errs(e.Err)...)
	}
	return r
}

// Interrupt marks the run stopped early at t (the player's context ended).
func (r Run) Interrupt(t time.Time) Run {
	if r.State == RunRunning {
		r.State, r.EndedAt, r.UpdatedAt = RunInterrupted, t, t
	}
	return r
}

// End is when the run ended, or now while it runs.
func (r *Run) End(now time.Time) time.Time {
	if !r.EndedAt.IsZero() {
		return r.EndedAt
	}
	return now
}
