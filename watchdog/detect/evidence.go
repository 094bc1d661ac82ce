package detect

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// SeriesView is what one probe sees of one room over one transport now.
type SeriesView struct {
	Room      string
	Probe     string
	Location  string
	Transport string
	// View is ok, degraded (latency or stutter firing), down (a dropout
	// firing) or unknown: no fresh data, or a condition that holds but has
	// not fired yet (Pending) — neither fine nor degraded.
	View    vocab.View
	Pending bool
	// Onset is the earliest onset of the firing findings; ClearSince, when
	// every one of them has stopped holding, the latest time one did.
	Onset      time.Time
	ClearSince time.Time
	Findings   []Finding
}

// ServerState is a server's health as correlation sees it.
type ServerState string

// The server states, the worst last.
const (
	ServerUnknown ServerState = "unknown" // no fresh reading of any of its checks
	ServerOK      ServerState = "ok"
	// ServerStrained: a reading beyond its limit, not yet for its `for`:
	// not a problem of its own, but it explains its rooms' trouble.
	ServerStrained  ServerState = "strained"
	ServerSaturated ServerState = "saturated"
	ServerDown      ServerState = "down"
)

// Sick reports whether the server has a problem of its own that explains
// its rooms' trouble.
func (s ServerState) Sick() bool {
	return s == ServerStrained || s == ServerSaturated || s == ServerDown
}

// ServerView is one server's health now.
type ServerView struct {
	ID    string
	State ServerState
	// Since is when its problem began; ClearSince, when set, is when it
	// stopped holding (its findings wait out clear_after).
	Since      time.Time
	ClearSince time.Time
	// Checks is how many health checks the server has; CheckedAt is the
	// oldest of their latest readings: every check has reported since then
	// (zero if one never reported).
	Checks    int
	CheckedAt time.Time
	// Failing: a check failed its latest run, not yet often enough to
	// call the server down: its state is about to be decided.
	Failing bool
	// Evidence says why, a line per condition: "cpu_pct 97.0 above 90
	// since 09:31:02Z".
	Evidence []string
	Findings []Finding
	// Last is its latest spell of trouble (nil if none lately): rooms
	// whose trouble began within it stay blamed on it while that trouble
	// lingers.
	Last *Episode
}

// Holding reports whether the server's problem holds now.
func (v ServerView) Holding() bool { return v.State.Sick() && v.ClearSince.IsZero() }

// ProbeView is one probe's state: silent when its heartbeat is overdue.
type ProbeView struct {
	ID       string
	Location string
	Silent   bool
	Finding  *Finding
}

// Evidence is everything the detectors know now, for correlation.
type Evidence struct {
	At time.Time
	// Series are the series seen lately, sorted by room, transport, probe.
	Series []SeriesView
	// Servers holds every configured server.
	Servers map[string]ServerView
	// Probes holds every probe with a heartbeat.
	Probes map[string]ProbeView
}

// Evidence returns what the detectors know at now. Call it after Step with
// the same time.
func (e *Engine) Evidence(now time.Time) Evidence {
	ev := Evidence{At: now, Servers: make(map[string]ServerView, len(e.servers)), Probes: make(map[string]ProbeView, len(e.probes))}
	firing := func(c *condition, f Finding) (Finding, bool) {
		if !c.st.Firing {
			return Finding{}, false
		}
		f.Onset, f.FiredAt, f.ClearSince = c.st.Onset, c.st.FiredAt, c.st.ClearSince
		fill(&f, c.v)
		return f, true
	}
	for id, p := range e.probes {
		pv := ProbeView{ID: id, Location: p.beat.Location}
		if f, ok := firing(&p.cond, Finding{Kind: vocab.KindProbeSilent, Probe: id, Location: p.beat.Location}); ok {
			pv.Silent, pv.Finding = true, &f
		}
		ev.Probes[id] = pv
	}
	for _, s := range e.series {
		sv := SeriesView{Room: s.key.Room, Probe: s.key.Probe, Location: s.location, Transport: s.key.Transport}
		base := s.base()
		allClearing := true
		for _, c := range []struct {
			cond *condition
			kind vocab.Kind
		}{{&s.lat, vocab.KindLatency}, {&s.stu, vocab.KindStutter}, {&s.drop, vocab.KindDropout}} {
			f, ok := firing(c.cond, with(base, c.kind))
			if !ok {
				sv.Pending = sv.Pending || c.cond.st.Pending()
				continue
			}
			sv.Findings = append(sv.Findings, f)
			if sv.Onset.IsZero() || f.Onset.Before(sv.Onset) {
				sv.Onset = f.Onset
			}
			if f.Holding() {
				allClearing = false
			} else if f.ClearSince.After(sv.ClearSince) {
				sv.ClearSince = f.ClearSince
			}
		}
		if !allClearing {
			sv.ClearSince = time.Time{}
		}
		fresh := len(s.aggs) > 0 && e.fresh(s.aggs[len(s.aggs)-1].End, now)
		switch {
		case !fresh || ev.Probes[s.key.Probe].Silent:
			sv.View = vocab.ViewUnknown
		case s.drop.st.Firing:
			sv.View = vocab.ViewDown
		case len(sv.Findings) > 0:
			sv.View = vocab.ViewDegraded
		case sv.Pending:
			sv.View = vocab.ViewUnknown
		default:
			sv.View = vocab.ViewOK
		}
		if !fresh && len(sv.Findings) == 0 {
			continue // not seen lately, nothing to say
		}
		slices.SortFunc(sv.Findings, compareFindings)
		ev.Series = append(ev.Series, sv)
	}
	slices.SortFunc(ev.Series, func(a, b SeriesView) int {
		return cmp.Or(cmp.Compare(a.Room, b.Room), cmp.Compare(a.Transport, b.Transport), cmp.Compare(a.Probe, b.Probe))
	})
	for _, id := range e.servers {
		ev.Servers[id] = e.serverView(id, now)
	}
	return ev
}

// serverView works out one server's state from its checks and readings.
func (e *Engine) serverView(id string, now time.Time) ServerView {
	v := ServerView{ID: id, State: ServerOK, Checks: e.serverChecks[id]}
	rank := func(s ServerState) int {
		return slices.Index([]ServerState{ServerUnknown, ServerOK, ServerStrained, ServerSaturated, ServerDown}, s)
	}
	worse := func(s ServerState) {
		if rank(s) > rank(v.State) {
			v.State = s
		}
	}
	allClearing, fresh, reported := true, false, 0
	oldest := time.Time{}
	note := func(f Finding, st ServerState, line string) {
		v.Findings = append(v.Findings, f)
		worse(st)
		if v.Since.IsZero() || f.Onset.Before(v.Since) {
			v.Since = f.Onset
		}
		if f.Holding() {
			allClearing = false
		} else if f.ClearSince.After(v.ClearSince) {
			v.ClearSince = f.ClearSince
		}
		v.Evidence = append(v.Evidence, line)
	}
	for k, c := range e.checks {
		if k.server != id {
			continue
		}
		reported++
		if oldest.IsZero() || c.last.Before(oldest) {
			oldest = c.last
		}
		if now.Sub(c.last) <= e.staleAfter(k) {
			fresh = true
			if c.failures > 0 && !c.cond.st.Firing {
				v.Failing = true
			}
		}
		if !c.cond.st.Firing {
			continue
		}
		f := Finding{Kind: vocab.KindServerDown, Server: id, Check: k.check, Onset: c.cond.st.Onset, FiredAt: c.cond.st.FiredAt, ClearSince: c.cond.st.ClearSince}
		fill(&f, c.cond.v)
		note(f, ServerDown, fmt.Sprintf("%s since %s", c.cond.v.Text, clock(f.Onset)))
	}
	for k, r := range e.readings {
		if k.server != id {
			continue
		}
		st := r.cond.st
		switch {
		case st.Firing:
			f := Finding{Kind: vocab.KindSaturation, Server: id, Reading: k.reading, Onset: st.Onset, FiredAt: st.FiredAt, ClearSince: st.ClearSince}
			fill(&f, r.cond.v)
			line := fmt.Sprintf("%s since %s", r.cond.v.Text, clock(st.Onset))
			if !st.ClearSince.IsZero() {
				line += fmt.Sprintf(", back within limits since %s", clock(st.ClearSince))
			}
			note(f, ServerSaturated, line)
		case st.Pending():
			worse(ServerStrained)
			if v.Since.IsZero() || st.Onset.Before(v.Since) {
				v.Since = st.Onset
			}
			allClearing = false
			v.Evidence = append(v.Evidence, fmt.Sprintf("%s since %s (not yet for %s)", r.cond.v.Text, clock(st.Onset), r.rule.For))
		}
	}
	if reported == e.serverChecks[id] {
		v.CheckedAt = oldest
	}
	if ep := e.episodes[id]; ep != nil {
		c := *ep
		v.Last = &c
	}
	switch {
	case v.State != ServerOK:
		if !allClearing {
			v.ClearSince = time.Time{}
		}
	case e.serverChecks[id] > 0 && !fresh:
		v.State = ServerUnknown
	}
	slices.Sort(v.Evidence)
	slices.SortFunc(v.Findings, compareFindings)
	return v
}

// clock renders a time for evidence lines, to the second.
func clock(t time.Time) string { return t.UTC().Format("15:04:05Z") }
