package detect

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// SeriesStatus is what one probe sees of one room right now, for
// correlation: firing (some finding fires), pending (a condition holds but
// has not fired yet), or fine.
type SeriesStatus struct {
	Room     string
	Probe    string
	Location string
	Firing   bool
	Pending  bool
}

// Fine reports whether the probe sees the room fine.
func (s SeriesStatus) Fine() bool { return !s.Firing && !s.Pending }

// ServerStatus is a server's health for correlation.
type ServerStatus struct {
	// Down: a health check has failed enough times in a row.
	Down bool
	// Saturated: a reading has been beyond its limit long enough.
	Saturated bool
	// Suspect: down, or some reading is beyond its limit, firing or not
	// yet: enough to blame the server for its rooms' trouble. (A single
	// failed check is not: one timeout must not steal a room's incident.)
	Suspect bool
	// Evidence says why, one line per condition: "cpu_pct 97.0 above 90".
	Evidence []string
}

// Snapshot is the detectors' view at one time.
type Snapshot struct {
	At time.Time
	// Findings are the firing findings, sorted by kind and subject.
	Findings []Finding
	// Series are the series with fresh data, sorted by room and probe.
	Series []SeriesStatus
	// Servers holds every server with a failing check or a reading beyond
	// its limit.
	Servers map[string]ServerStatus
	// Silent holds the probes whose heartbeat is overdue.
	Silent map[string]bool
}

// Snapshot returns the current findings and statuses. Call it after Step
// with the same time.
func (e *Engine) Snapshot(now time.Time) Snapshot {
	snap := Snapshot{At: now, Servers: map[string]ServerStatus{}, Silent: map[string]bool{}}
	firing := func(c *condition, f Finding) {
		if c.st.Firing {
			f.Onset, f.FiredAt = c.st.Onset, c.st.FiredAt
			fill(&f, c.v)
			snap.Findings = append(snap.Findings, f)
		}
	}
	for k, s := range e.series {
		base := Finding{Room: k.Room, Probe: k.Probe, Location: s.location, Session: s.session}
		firing(&s.lat, with(base, KindLatency))
		firing(&s.stu, with(base, KindStutter))
		firing(&s.drop, with(base, KindDropout))
		if len(s.aggs) == 0 || !e.fresh(s.aggs[len(s.aggs)-1].End, now) {
			if !s.lat.st.Firing && !s.stu.st.Firing && !s.drop.st.Firing {
				continue
			}
		}
		snap.Series = append(snap.Series, SeriesStatus{
			Room: k.Room, Probe: k.Probe, Location: s.location,
			Firing:  s.lat.st.Firing || s.stu.st.Firing || s.drop.st.Firing,
			Pending: s.lat.st.Pending() || s.stu.st.Pending() || s.drop.st.Pending(),
		})
	}
	for k, c := range e.checks {
		firing(&c.cond, Finding{Kind: KindServerDown, Server: k.server, Check: k.check})
		if c.cond.st.Firing {
			st := snap.Servers[k.server]
			st.Suspect, st.Down = true, true
			st.Evidence = append(st.Evidence, c.cond.v.Text)
			snap.Servers[k.server] = st
		}
	}
	for k, r := range e.readings {
		firing(&r.cond, Finding{Kind: KindSaturation, Server: k.server, Reading: k.reading})
		if r.cond.st.Firing || r.cond.st.Pending() {
			st := snap.Servers[k.server]
			st.Suspect = true
			st.Saturated = st.Saturated || r.cond.st.Firing
			text := r.cond.v.Text
			if r.cond.st.Pending() {
				text += fmt.Sprintf(" (for %s so far)", now.Sub(r.cond.st.Onset).Round(time.Second))
			}
			st.Evidence = append(st.Evidence, text)
			snap.Servers[k.server] = st
		}
	}
	for id, p := range e.probes {
		firing(&p.cond, Finding{Kind: KindProbeSilent, Probe: id, Location: p.beat.Location})
		if p.cond.st.Firing {
			snap.Silent[id] = true
		}
	}
	for id, st := range snap.Servers {
		slices.Sort(st.Evidence)
		snap.Servers[id] = st
	}
	slices.SortFunc(snap.Findings, compareFindings)
	slices.SortFunc(snap.Series, func(a, b SeriesStatus) int {
		return cmp.Or(cmp.Compare(a.Room, b.Room), cmp.Compare(a.Probe, b.Probe))
	})
	return snap
}
