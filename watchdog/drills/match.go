package drills

import (
	"slices"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// DefaultGrace is how long after a drill's faults are cleared an incident
// that opens is still the drill's: detection takes a window and a for:.
const DefaultGrace = time.Minute

// Touches reports whether an incident is about a place the fault hurts: a
// server's own incident or one of its rooms'; the room's; for a network
// path, the incident blamed on that path or seen from its location alone.
func (f *Fault) Touches(inc *incident.Incident) bool {
	p := &inc.Place
	switch f.Kind {
	case "server":
		if inc.Cause == vocab.CauseServer && inc.Subject == f.Target {
			return true
		}
		return overlaps(p.Servers, f.Servers) || overlaps(p.Rooms, f.Rooms)
	case "room":
		if inc.Cause == vocab.CauseRoom && inc.Subject == f.Target {
			return true
		}
		return overlaps(p.Rooms, f.Rooms)
	case "path":
		if inc.Cause == vocab.CauseNetwork && inc.Subject == f.Target {
			return true
		}
		return len(p.Locations) > 0 && !slices.ContainsFunc(p.Locations, func(l string) bool { return !slices.Contains(f.Locations, l) })
	}
	return false
}

func overlaps(a, b []string) bool {
	return slices.ContainsFunc(a, func(x string) bool { return slices.Contains(b, x) })
}

// Spells returns when each spell of an incident began: its opening, and
// each reopening by a relapse, oldest first.
func Spells(inc *incident.Incident) []time.Time {
	out := []time.Time{inc.OpenedAt}
	for _, e := range inc.Timeline {
		if e.Kind == "reopened" && e.At.After(inc.OpenedAt) {
			out = append(out, e.At)
		}
	}
	return out
}

// Window is when an incident opening is the drill's: from its faults'
// start to grace after they were cleared (or the run's end, or now, while
// they hold). ok is false for a drill that never started.
func (d *Drill) Window(run *Run, grace time.Duration, now time.Time) (from, to time.Time, ok bool) {
	if !d.Started() {
		return time.Time{}, time.Time{}, false
	}
	stop := d.StoppedAt
	if stop.IsZero() {
		stop = run.End(now)
	}
	return d.StartedAt, stop.Add(grace), true
}

// Matches reports whether the incident is the drill's: a spell of it began
// in the drill's window, about a place one of its faults touches. spell is
// when that spell began.
func Matches(inc *incident.Incident, run *Run, d *Drill, grace time.Duration, now time.Time) (spell time.Time, ok bool) {
	from, to, ok := d.Window(run, grace, now)
	if !ok {
		return time.Time{}, false
	}
	if !slices.ContainsFunc(d.Faults, func(f Fault) bool { return f.Touches(inc) }) {
		return time.Time{}, false
	}
	for _, s := range Spells(inc) {
		if !s.Before(from) && !s.After(to) {
			return s, true
		}
	}
	return time.Time{}, false
}

// IsDrill reports whether an incident was raised by a drill of one of the
// runs (with DefaultGrace): the period report tells these from real ones.
func IsDrill(inc *incident.Incident, runs []Run) bool {
	for i := range runs {
		r := &runs[i]
		for j := range r.Drills {
			if _, ok := Matches(inc, r, &r.Drills[j], DefaultGrace, r.End(r.StartedAt.Add(r.PlannedLength))); ok {
				return true
			}
		}
	}
	return false
}
