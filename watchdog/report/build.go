package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// maxWorst is how many of the worst rooms a report names.
const maxWorst = 10

// Build makes the report a request asks for from its sources. A period in
// the future, or one with no data and no incidents, gives a report with
// Empty set and a Notice saying so, not an error; an unknown scope gives a
// *ScopeError (errors.Is ErrUnknownScope).
func Build(ctx context.Context, src Sources, req Request) (*Report, error) {
	if src.Config == nil || src.Rollups == nil {
		return nil, errors.New("report: the sources need a config and a roll-up reader")
	}
	p := req.Period
	if !p.End.After(p.Start) {
		return nil, fmt.Errorf("%w: empty period %s – %s", ErrPeriod, p.Start, p.End)
	}
	sc, err := resolveScope(req.Scope, src.Config)
	if err != nil {
		return nil, err
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	loc := p.Start.Location()
	out := req.Outcome.withDefaults()
	rep := &Report{
		Version: Version, City: orID(src.Config.City.Name, src.Config.City.ID), Scope: sc.Scope,
		Period: p, PeriodID: p.ID(), TimeZone: loc.String(), Generated: now.In(loc), Outcome: out,
		Until: p.End,
	}
	rep.Title = p.Label() + " — " + rep.City
	if sc.Kind != ScopeCity {
		rep.Title += " · " + sc.Name
	}
	if src.EvidenceHead != nil {
		ev, err := src.EvidenceHead(ctx)
		if err != nil {
			ev = Evidence{Error: err.Error()}
		}
		rep.Evidence = &ev
	}
	if !now.After(p.Start) {
		rep.Empty = true
		rep.Notice = fmt.Sprintf("该时段尚未开始（%s 起），没有可报告的内容。", p.Start.Format("2006-01-02 15:04"))
		rep.Until = p.Start
		rep.fillEmpty(&sc, src.Config)
		return rep, nil
	}
	if now.Before(p.End) {
		rep.Until = now.In(loc)
		rep.Notice = fmt.Sprintf("本时段尚未结束，数据截至 %s。", rep.Until.Format("2006-01-02 15:04"))
	}
	// The previous period is read alongside this one (a Reader is safe
	// for concurrent use): on two cores a year's report takes the time of
	// the longer read, not of both.
	var (
		prev    = p.Prev()
		pc      *collected
		perr    error
		wg      sync.WaitGroup
		compare = !req.NoCompare
	)
	if compare {
		wg.Go(func() { pc, perr = collect(ctx, src, &sc, prev, prev.End, out, false) })
	}
	c, err := collect(ctx, src, &sc, p, rep.Until, out, true)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, fmt.Errorf("previous period: %w", perr)
	}
	c.fill(rep, src.Config, &sc)
	if c.empty() {
		rep.Empty = true
		rep.Notice = "该时段内没有监测数据，也没有故障记录：没有可报告的内容。" + rep.Notice
	}
	if compare {
		rep.Previous = &Previous{Period: prev, Name: prev.Name(), Summary: pc.headline()}
		rep.Previous.Changes = changes(rep.Summary, rep.Previous.Summary)
	}
	return rep, nil
}

// collected is what one period's reads add up to.
type collected struct {
	p     Period
	until time.Time
	loc   *time.Location
	// buckets are the series' hour or day starts; step names it.
	buckets []time.Time
	step    string
	hours   int
	// rooms: per room, its Stats per bucket.
	rooms  map[string][]rollup.Stats
	patrol map[string]hourSet
	// sessions by id.
	sessions map[string]*sessAcc
	full     bool
	outcome  Outcome
	servers  map[string]*serverAcc
	incs     []*incident.Incident
	drills   int

	// What summarise works out.
	sessList              []Session
	sessTotal, disrupted  int
	sessOK, sessDegraded  int
	withIncident          int
	sessPerRoom, incPerRm map[string]int
	incFig                Incidents
	remFig                Remediation
	total                 rollup.Stats
	patrolChecked         int
	patrolHours           int
}

func collect(ctx context.Context, src Sources, sc *resolved, p Period, until time.Time, o Outcome, full bool) (*collected, error) {
	c := &collected{p: p, until: until, loc: p.Start.Location(), rooms: map[string][]rollup.Stats{},
		patrol: map[string]hourSet{}, sessions: map[string]*sessAcc{}, full: full, outcome: o,
		servers: map[string]*serverAcc{}, sessPerRoom: map[string]int{}, incPerRm: map[string]int{}}
	c.hours = int((until.Sub(p.Start) + time.Hour - 1) / time.Hour)
	if p.End.Sub(p.Start) <= 48*time.Hour+time.Hour { // a day (or two): by the hour
		c.step = "hour"
		for t := p.Start; t.Before(until); t = t.Add(time.Hour) {
			c.buckets = append(c.buckets, t)
		}
	} else {
		c.step = "day"
		for _, d := range p.DayStarts() {
			if d.Before(until) {
				c.buckets = append(c.buckets, d)
			}
		}
	}
	hourEnd := rollup.Hour(until.Add(time.Hour - time.Nanosecond))
	// Rows come grouped by hour and room, as a reader decodes them: the
	// last hour's bucket and the last room's series are kept at hand.
	var (
		lastHour time.Time
		lastB    = -1
		lastRoom string
		lastRS   []rollup.Stats
	)
	err := src.Rollups.Hourly(ctx, p.Start, hourEnd, func(r rollup.Row) error {
		if r.Start.Before(p.Start) || !r.Start.Before(until) {
			return nil
		}
		if !r.Start.Equal(lastHour) || lastB < 0 {
			lastHour, lastB = r.Start, c.bucket(r.Start)
		}
		b := lastB
		if b < 0 {
			return nil
		}
		rs := lastRS
		if r.Dim.Room != lastRoom || rs == nil {
			if !sc.hasRoom(r.Dim.Room) {
				return nil
			}
			rs = c.rooms[r.Dim.Room]
			if rs == nil {
				rs = make([]rollup.Stats, len(c.buckets))
				c.rooms[r.Dim.Room] = rs
			}
			lastRoom, lastRS = r.Dim.Room, rs
		}
		rs[b].Merge(&r.Stats)
		if r.Stats.PatrolMS > 0 {
			h := c.patrol[r.Dim.Room]
			if h == nil {
				h = newHourSet(c.hours)
				c.patrol[r.Dim.Room] = h
			}
			h.set(int(r.Start.Sub(p.Start) / time.Hour))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read hourly roll-ups: %w", err)
	}
	err = src.Rollups.Sessions(ctx, p.Start, until, func(r rollup.SessionRow) error {
		if !sc.hasRoom(r.Dim.Room) {
			return nil
		}
		a := c.sessions[r.Session]
		if a == nil {
			a = &sessAcc{room: r.Dim.Room}
			c.sessions[r.Session] = a
		}
		a.add(&r.Stats)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read session roll-ups: %w", err)
	}
	if full {
		err = src.Rollups.Health(ctx, p.Start, hourEnd, func(r rollup.HealthRow) error {
			if !sc.hasServer(r.Server) || r.Start.Before(p.Start) || !r.Start.Before(until) {
				return nil
			}
			c.addHealth(&r)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read health roll-ups: %w", err)
		}
	}
	if src.Incidents != nil {
		list, err := src.Incidents.List(ctx, incident.Filter{From: p.Start, To: until})
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		for i := range list {
			inc := &list[i]
			if !inc.Counted() || !inScope(inc, sc) {
				continue
			}
			if src.IsDrill != nil && src.IsDrill(inc) {
				c.drills++
				continue
			}
			c.incs = append(c.incs, inc)
		}
		slices.SortStableFunc(c.incs, func(a, b *incident.Incident) int { return a.OpenedAt.Compare(b.OpenedAt) })
	}
	c.summarise(src.Config, sc)
	return c, nil
}

// bucket returns the series bucket an hour starting at t falls in, -1 if
// none.
func (c *collected) bucket(t time.Time) int {
	i := sort.Search(len(c.buckets), func(i int) bool { return c.buckets[i].After(t) }) - 1
	return i
}

func (c *collected) addHealth(r *rollup.HealthRow) {
	s := c.servers[r.Server]
	if s == nil {
		s = &serverAcc{metrics: map[string][]valAcc{}, totals: map[string]*valAcc{}}
		c.servers[r.Server] = s
	}
	name := r.Metric
	if name == "" {
		name = latencyMetric
		s.checks += r.Checks
		s.failed += r.Failed
	}
	b := c.bucket(r.Start)
	if b < 0 {
		return
	}
	m := s.metrics[name]
	if m == nil {
		m = make([]valAcc, len(c.buckets))
		s.metrics[name] = m
		s.totals[name] = &valAcc{}
	}
	m[b].add(r)
	s.totals[name].add(r)
}

// inScope reports whether an incident concerns the scope: a room or server
// of it, or (for a sub-center) the sub-center itself.
func inScope(inc *incident.Incident, sc *resolved) bool {
	if sc.rooms == nil {
		return true
	}
	if slices.ContainsFunc(inc.Place.Rooms, func(r string) bool { return sc.rooms[r] }) ||
		slices.ContainsFunc(inc.Place.Servers, func(s string) bool { return sc.servers[s] }) {
		return true
	}
	return sc.Kind == ScopeSubCenter && slices.Contains(inc.Place.SubCenters, sc.ID)
}

// summarise works out the figures that the headline needs.
func (c *collected) summarise(cfg *config.Config, sc *resolved) {
	for _, rs := range c.rooms {
		for i := range rs {
			c.total.Merge(&rs[i])
		}
	}
	for _, h := range c.patrol {
		c.patrolChecked += h.count()
	}
	// Patrol hours: of every room of the scope, configured or seen.
	c.patrolHours = len(c.roomIDs(cfg, sc)) * c.hours
	c.sessList = make([]Session, 0, len(c.sessions))
	byRoom := map[string][]*incident.Incident{}
	for _, inc := range c.incs {
		for _, r := range inc.Place.Rooms {
			byRoom[r] = append(byRoom[r], inc)
			c.incPerRm[r]++
		}
	}
	for id, a := range c.sessions {
		s := a.session(id, c.outcome, c.loc)
		c.sessTotal++
		c.sessPerRoom[a.room]++
		switch s.Outcome {
		case OutcomeDisrupted:
			c.disrupted++
		case OutcomeDegraded:
			c.sessDegraded++
		default:
			c.sessOK++
		}
		for _, inc := range byRoom[a.room] {
			end := inc.ResolvedAt
			if end.IsZero() {
				end = c.until
			}
			if inc.OpenedAt.Before(s.End) && end.After(s.Start) {
				s.Incidents = append(s.Incidents, inc.ID)
			}
		}
		if len(s.Incidents) > 0 {
			c.withIncident++
		}
		if c.full {
			c.sessList = append(c.sessList, s)
		}
	}
	slices.SortFunc(c.sessList, func(a, b Session) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Room, b.Room), cmp.Compare(a.ID, b.ID))
	})
	c.incFig = incidentFigures(c.incs, c.until, deadlines(cfg))
	c.incFig.Drills = c.drills
	c.remFig = remediation(c.incs)
}

func deadlines(cfg *config.Config) map[vocab.Class]time.Duration {
	out := map[vocab.Class]time.Duration{}
	for _, cl := range vocab.Classes {
		if d, ok := cfg.Watchdog.Incidents.Deadlines.Of(cl); ok {
			out[cl] = d
		}
	}
	return out
}

func (c *collected) empty() bool {
	return len(c.rooms) == 0 && len(c.sessions) == 0 && len(c.incs) == 0 && c.drills == 0 && len(c.servers) == 0
}

// headline is the period's main figures.
func (c *collected) headline() Headline {
	return Headline{
		Figures:  figures(&c.total),
		Sessions: c.sessTotal, Disrupted: c.disrupted,
		Incidents: c.incFig.Total, Breaches: c.incFig.Breached, Compliance: c.incFig.Compliance,
		MTTAS: c.incFig.MTTAS, MTTRS: c.incFig.MTTRS,
		RemedySuccess:  c.remFig.Success,
		PatrolCoverage: share(c.patrolChecked, c.patrolHours),
	}
}
