package detect

import (
	"fmt"
	"slices"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/health"
)

// Beat is a probe's last heartbeat, as the detectors need it.
type Beat struct {
	ID       string
	Location string
	// Stopped is true after a clean shutdown: a stopped probe is not silent.
	Stopped  bool
	LastSeen time.Time
	// Interval is the probe's heartbeat interval.
	Interval time.Duration
}

// Engine holds the detectors' state: the recent windows of every series,
// health-check failures in a row, the latest readings, the probes'
// heartbeats, and every condition's hysteresis. It does no I/O and reads no
// clock: every method takes the time to evaluate at. It is not safe for
// concurrent use.
type Engine struct {
	cfg      config.Detect
	keep     time.Duration
	servers  []string
	series   map[SeriesKey]*series
	checks   map[checkKey]*checkState
	readings map[readingKey]*readingState
	probes   map[string]*probeState
	// intervals are the configured checks' intervals, "server/check".
	intervals map[checkKey]time.Duration
	// serverChecks counts each server's configured checks.
	serverChecks map[string]int
	// episodes are each server's latest spell of trouble.
	episodes map[string]*Episode
}

// Episode is a server's spell of trouble: from Since until Until (zero
// while it goes on). Rooms whose trouble began within it stay blamed on the
// server while that trouble lingers, even after the server recovered.
type Episode struct {
	Since time.Time
	Until time.Time
}

// condition is one detector's hysteresis state and its latest verdict.
type condition struct {
	st State
	v  Verdict
}

type series struct {
	key      SeriesKey
	location string
	session  string
	aggs     []*Agg // sorted by window
	latched  *Agg
	lat      condition
	stu      condition
	drop     condition
}

type checkKey struct{ server, check string }

type checkState struct {
	kind     string
	failures int
	lastErr  string
	last     time.Time // the latest reading
	cond     condition
}

type readingKey struct{ server, reading string }

type readingState struct {
	rule  config.SaturationRule
	value float64
	at    time.Time
	check string
	cond  condition
}

type probeState struct {
	beat Beat
	cond condition
}

// NewEngine returns an Engine with the city's thresholds (its watchdog's
// detect section) for its servers and their health checks.
func NewEngine(city *config.Config) *Engine {
	cfg := city.Watchdog.Detect
	e := &Engine{
		cfg:          cfg,
		keep:         max(cfg.Latency.Window, cfg.Stutter.Window) + time.Second,
		series:       map[SeriesKey]*series{},
		checks:       map[checkKey]*checkState{},
		readings:     map[readingKey]*readingState{},
		probes:       map[string]*probeState{},
		intervals:    map[checkKey]time.Duration{},
		serverChecks: map[string]int{},
		episodes:     map[string]*Episode{},
	}
	for _, s := range city.Servers {
		e.servers = append(e.servers, s.ID)
		for i, c := range s.Health {
			e.intervals[checkKey{s.ID, health.CheckName(c.Type, i)}] = c.Interval
			e.serverChecks[s.ID]++
		}
	}
	return e
}

// fresh reports whether data that ended at end still counts at now.
func (e *Engine) fresh(end, now time.Time) bool { return !end.Before(now.Add(-e.cfg.Stale)) }

// staleAfter is how old a check's latest reading may be before what it said
// is unknown: two of its intervals.
func (e *Engine) staleAfter(k checkKey) time.Duration {
	if d := e.intervals[k]; d > 0 {
		return 2 * d
	}
	return 2 * config.DefaultHealthInterval
}

// AddAgg adds one window of a series (merging it with what is there for the
// same window). Data older than the stale limit still fills the windows but
// fires nothing by itself: a probe's spool replayed after an outage is
// history, not news.
func (e *Engine) AddAgg(a Agg, now time.Time) {
	k := a.Key()
	s := e.series[k]
	if s == nil {
		s = &series{key: k}
		e.series[k] = s
	}
	if a.Location != "" {
		s.location = a.Location
	}
	s.session = a.Session
	i, found := slices.BinarySearchFunc(s.aggs, a.Window, func(x *Agg, w time.Time) int { return x.Window.Compare(w) })
	var b *Agg
	if found {
		b = s.aggs[i]
		b.Merge(&a)
	} else {
		b = &a
		b.RTT = slices.Clone(a.RTT)
		s.aggs = slices.Insert(s.aggs, i, b)
	}
	if (a.Dropouts > 0 || a.Down > 0) && e.fresh(a.End, now) {
		c := *b
		s.latched = &c
	}
	// Keep only what the longest window needs.
	latest := s.aggs[len(s.aggs)-1].Window
	cut := 0
	for cut < len(s.aggs) && s.aggs[cut].Window.Before(latest.Add(-e.keep)) {
		cut++
	}
	if cut > 0 {
		s.aggs = slices.Delete(s.aggs, 0, cut)
	}
}

// AddReading takes one health check's outcome. A check that failed says
// nothing of the readings it would have given: they keep their last value
// until it is two check intervals old, and are unknown after that.
func (e *Engine) AddReading(r health.Reading) {
	k := checkKey{r.Server, r.Check}
	c := e.checks[k]
	if c == nil {
		c = &checkState{kind: r.Kind}
		e.checks[k] = c
	}
	if r.At.After(c.last) {
		c.last = r.At
	}
	if r.OK {
		c.failures, c.lastErr = 0, ""
	} else {
		c.failures++
		c.lastErr = r.Error
	}
	for name, v := range r.Values {
		i := slices.IndexFunc(e.cfg.Saturation, func(s config.SaturationRule) bool { return s.Reading == name })
		if i < 0 {
			continue
		}
		rk := readingKey{r.Server, name}
		st := e.readings[rk]
		if st == nil {
			st = &readingState{rule: e.cfg.Saturation[i]}
			e.readings[rk] = st
		}
		st.value, st.at, st.check = v, r.At, r.Check
	}
}

// SetBeats replaces the probes' heartbeats with the latest ones.
func (e *Engine) SetBeats(beats []Beat) {
	seen := make(map[string]bool, len(beats))
	for _, b := range beats {
		seen[b.ID] = true
		p := e.probes[b.ID]
		if p == nil {
			p = &probeState{}
			e.probes[b.ID] = p
		}
		p.beat = b
	}
	for id, p := range e.probes {
		if !seen[id] && !p.cond.st.Firing {
			delete(e.probes, id)
		}
	}
}

// silent reports whether a heartbeat is overdue at now.
func (e *Engine) silent(b Beat, now time.Time) bool {
	if b.Stopped {
		return false
	}
	limit := max(e.cfg.ProbeSilentAfter, 3*b.Interval)
	return now.Sub(b.LastSeen) > limit
}

// Step evaluates every condition at now and returns the findings that fired
// or cleared.
func (e *Engine) Step(now time.Time) []Change {
	var out []Change
	step := func(c *condition, h Hysteresis, v Verdict, f Finding) {
		var tr Transition
		c.st, tr = h.Step(c.st, v.obs(c.st.Firing), now)
		if v.Holds || (c.st.Firing && v.Recent) {
			c.v = v
		}
		if tr != None {
			f.Onset, f.FiredAt = c.st.Onset, c.st.FiredAt
			fill(&f, c.v)
			out = append(out, Change{Finding: f, Transition: tr})
		}
		if !c.st.Firing && !c.st.Pending() {
			c.v = Verdict{}
		}
	}
	d := e.cfg
	for k, s := range e.series {
		var lat, stu, drop Verdict
		if len(s.aggs) > 0 && e.fresh(s.aggs[len(s.aggs)-1].End, now) {
			lat = Latency(s.aggs, d.Latency, d.Recent)
			stu = Stutter(s.aggs, d.Stutter, d.Recent)
			drop = Dropout(s.aggs, s.latched)
		}
		s.latched = nil
		base := s.base()
		step(&s.lat, hyst(d.Latency.Hyst()), lat, with(base, vocab.KindLatency))
		step(&s.stu, hyst(d.Stutter.Hyst()), stu, with(base, vocab.KindStutter))
		step(&s.drop, hyst(d.Dropout.Hyst()), drop, with(base, vocab.KindDropout))
		idle := len(s.aggs) == 0 || now.Sub(s.aggs[len(s.aggs)-1].End) > e.keep+d.Stale
		if idle && !s.lat.st.Firing && !s.stu.st.Firing && !s.drop.st.Firing {
			delete(e.series, k)
		}
	}
	for k, c := range e.checks {
		v := Verdict{}
		stale := now.Sub(c.last) > e.staleAfter(k)
		if c.failures > 0 {
			v.Figures = Figures{Failures: c.failures, Error: c.lastErr}
			v.Text = fmt.Sprintf("%s check failed %d times in a row: %s", c.kind, c.failures, c.lastErr)
		}
		if c.failures >= d.ServerDown.Failures && !stale {
			v.Holds, v.Recent, v.Fresh, v.Severity = true, true, true, vocab.SeverityCritical
		}
		step(&c.cond, Hysteresis{ClearAfter: d.ServerDown.ClearAfter}, v, Finding{Kind: vocab.KindServerDown, Server: k.server, Check: k.check})
	}
	for k, r := range e.readings {
		v := Verdict{Figures: Figures{Value: r.value, Limit: r.rule.Limit}}
		stale := now.Sub(r.at) > e.staleAfter(checkKey{k.server, r.check})
		if r.rule.Breached(r.value) && !stale {
			v.Holds, v.Recent, v.Fresh, v.Severity = true, true, true, vocab.SeverityDegraded
			v.Text = fmt.Sprintf("%s %.1f %s %g", k.reading, r.value, r.rule.Op, r.rule.Limit)
		}
		step(&r.cond, hyst(r.rule.Hyst()), v, Finding{Kind: vocab.KindSaturation, Server: k.server, Reading: k.reading})
		if stale && !r.cond.st.Firing && !r.cond.st.Pending() {
			delete(e.readings, k) // unknown now: not kept for ever
		}
	}
	for id, p := range e.probes {
		v := Verdict{}
		if e.silent(p.beat, now) {
			v = Verdict{Holds: true, Recent: true, Fresh: true, Since: p.beat.LastSeen, Severity: vocab.SeverityDegraded,
				Text: fmt.Sprintf("probe %s silent: last heartbeat %s", id, p.beat.LastSeen.UTC().Format(time.RFC3339))}
		}
		step(&p.cond, Hysteresis{}, v, Finding{Kind: vocab.KindProbeSilent, Probe: id, Location: p.beat.Location})
	}
	e.trackEpisodes(now)
	slices.SortFunc(out, func(a, b Change) int { return compareFindings(a.Finding, b.Finding) })
	return out
}

// trackEpisodes updates each server's latest spell of trouble: it begins
// with the first condition that holds (firing or not yet) and ends when
// the last one stops holding.
func (e *Engine) trackEpisodes(now time.Time) {
	type spell struct {
		since, clear  time.Time
		holding, sick bool
	}
	spells := map[string]*spell{}
	note := func(server string, st State) {
		if !st.Firing && !st.Pending() {
			return
		}
		sp := spells[server]
		if sp == nil {
			sp = &spell{}
			spells[server] = sp
		}
		sp.sick = true
		if sp.since.IsZero() || st.Onset.Before(sp.since) {
			sp.since = st.Onset
		}
		if st.Holding() {
			sp.holding = true
		} else if st.ClearSince.After(sp.clear) {
			sp.clear = st.ClearSince
		}
	}
	for k, c := range e.checks {
		note(k.server, c.cond.st)
	}
	for k, r := range e.readings {
		note(k.server, r.cond.st)
	}
	for id, sp := range spells {
		ep := e.episodes[id]
		if ep == nil || !ep.Until.IsZero() && sp.since.After(ep.Until) {
			ep = &Episode{Since: sp.since}
			e.episodes[id] = ep
		}
		ep.Until = time.Time{}
		if !sp.holding {
			ep.Until = sp.clear
		}
	}
	for id, ep := range e.episodes {
		if spells[id] != nil {
			continue
		}
		if ep.Until.IsZero() {
			ep.Until = now
		}
		if now.Sub(ep.Until) > time.Hour {
			delete(e.episodes, id)
		}
	}
}

func (s *series) base() Finding {
	return Finding{Room: s.key.Room, Probe: s.key.Probe, Transport: s.key.Transport, Location: s.location, Session: s.session}
}

func hyst(h config.Hysteresis) Hysteresis { return Hysteresis{For: h.For, ClearAfter: h.ClearAfter} }

func with(f Finding, k vocab.Kind) Finding { f.Kind = k; return f }

func fill(f *Finding, v Verdict) {
	f.Severity, f.Figures, f.Text = v.Severity, v.Figures, v.Text
}
