package report

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// roomIDs lists the scope's rooms: the configured ones in configuration
// order, then rooms seen in the roll-ups that the configuration does not
// name (a city report only), sorted.
func (c *collected) roomIDs(cfg *config.Config, sc *resolved) []string {
	var ids []string
	known := map[string]bool{}
	for _, r := range cfg.Rooms {
		known[r.ID] = true
		if sc.hasRoom(r.ID) {
			ids = append(ids, r.ID)
		}
	}
	var extra []string
	for id := range c.rooms {
		if !known[id] {
			extra = append(extra, id)
		}
	}
	for _, a := range c.sessions {
		if !known[a.room] && !slices.Contains(extra, a.room) {
			extra = append(extra, a.room)
		}
	}
	slices.Sort(extra)
	return append(ids, extra...)
}

// fill writes the collected figures into the report.
func (c *collected) fill(rep *Report, cfg *config.Config, sc *resolved) {
	rep.Summary = c.headline()
	rep.SeriesStep = c.step
	roomName := func(id string) string {
		if r, ok := cfg.Room(id); ok {
			return orID(r.Name, id)
		}
		return id
	}
	subName := func(id string) string {
		if s, ok := cfg.SubCenter(id); ok {
			return orID(s.Name, id)
		}
		return id
	}
	// Rooms, and sub-centers from their rooms.
	totals := map[string]*rollup.Stats{}
	subTotals := map[string]*rollup.Stats{}
	subRooms := map[string]int{}
	subSessions, subIncidents := map[string]int{}, map[string]int{}
	var subOrder []string
	rep.Rooms = []Area{}
	for _, id := range c.roomIDs(cfg, sc) {
		st := &rollup.Stats{}
		for i := range c.rooms[id] {
			st.Merge(&c.rooms[id][i])
		}
		totals[id] = st
		sub := ""
		if r, ok := cfg.Room(id); ok {
			sub = r.SubCenter
		}
		if subTotals[sub] == nil {
			subTotals[sub] = &rollup.Stats{}
			subOrder = append(subOrder, sub)
		}
		subTotals[sub].Merge(st)
		if !st.Empty() {
			subRooms[sub]++
		}
		a := Area{ID: id, Name: roomName(id), Figures: figures(st), Sessions: c.sessPerRoom[id], Incidents: c.incPerRm[id]}
		subSessions[sub] += a.Sessions
		subIncidents[sub] += a.Incidents
		if sub != "" {
			a.SubCenter = subName(sub)
		}
		rep.Rooms = append(rep.Rooms, a)
	}
	rep.SubCenters = []Area{}
	for _, sub := range subOrder {
		a := Area{ID: sub, Name: subName(sub), Rooms: subRooms[sub], Figures: figures(subTotals[sub]),
			Sessions: subSessions[sub], Incidents: subIncidents[sub]}
		if sub == "" {
			a.Name = "（未配置的房间）"
		}
		rep.SubCenters = append(rep.SubCenters, a)
	}
	// The series: the scope per hour or day.
	rep.Series = make([]Point, len(c.buckets))
	for i, at := range c.buckets {
		st := &rollup.Stats{}
		for _, rs := range c.rooms {
			st.Merge(&rs[i])
		}
		rep.Series[i] = Point{At: at, Figures: figures(st)}
	}
	// Worst rooms: by the time bidders had trouble.
	worst := slices.Clone(rep.Rooms)
	worst = slices.DeleteFunc(worst, func(a Area) bool { return a.DownMS+a.DegradedMS == 0 })
	slices.SortStableFunc(worst, func(a, b Area) int {
		return cmp.Or(cmp.Compare(b.DownMS+b.DegradedMS, a.DownMS+a.DegradedMS), cmp.Compare(a.ID, b.ID))
	})
	rep.Worst = worst[:min(len(worst), maxWorst)]
	// Sessions.
	rep.Sessions = Sessions{Total: c.sessTotal, OK: c.sessOK, Degraded: c.sessDegraded, Disrupted: c.disrupted,
		WithIncident: c.withIncident, List: c.sessList}
	for i := range rep.Sessions.List {
		rep.Sessions.List[i].RoomName = roomName(rep.Sessions.List[i].Room)
	}
	rep.Incidents = c.incFig
	rep.Remediation = c.remFig
	rep.Recurring = recurring(c.incs)
	rep.RepeatRooms = []RoomCount{}
	byRoom := map[string]*RoomCount{}
	for _, inc := range c.incs {
		for _, r := range inc.Place.Rooms {
			if !sc.hasRoom(r) {
				continue
			}
			rc := byRoom[r]
			if rc == nil {
				rc = &RoomCount{Room: r, Name: roomName(r)}
				byRoom[r] = rc
			}
			rc.Count++
			rc.IDs = append(rc.IDs, inc.ID)
		}
	}
	for _, rc := range byRoom {
		if rc.Count >= 2 {
			rep.RepeatRooms = append(rep.RepeatRooms, *rc)
		}
	}
	slices.SortFunc(rep.RepeatRooms, func(a, b RoomCount) int { return cmp.Or(b.Count-a.Count, cmp.Compare(a.Room, b.Room)) })
	// Patrol coverage per room.
	rep.Patrol = []Patrol{}
	for _, id := range c.roomIDs(cfg, sc) {
		h := c.patrol[id]
		if h == nil {
			h = newHourSet(c.hours)
		}
		pt := patrolOf(id, roomName(id), h, c.hours, c.p.Start)
		pt.PerPoint = make([]int, len(c.buckets))
		for i := 0; i < c.hours; i++ {
			if h.has(i) {
				if b := c.bucket(c.p.Start.Add(time.Duration(i) * time.Hour)); b >= 0 {
					pt.PerPoint[b]++
				}
			}
		}
		rep.Patrol = append(rep.Patrol, pt)
	}
	// Server health.
	rep.Health = c.health(cfg, sc)
}

// health lists the scope's servers' health, configured servers first.
func (c *collected) health(cfg *config.Config, sc *resolved) []Server {
	out := []Server{}
	var ids []string
	for _, s := range cfg.Servers {
		if sc.hasServer(s.ID) {
			ids = append(ids, s.ID)
		}
	}
	var extra []string
	for id := range c.servers {
		if !slices.Contains(ids, id) {
			extra = append(extra, id)
		}
	}
	slices.Sort(extra)
	for _, id := range append(ids, extra...) {
		s := Server{ID: id, Name: id, Metrics: []Metric{}, FailRate: nanNum()}
		if cs, ok := cfg.Server(id); ok {
			s.Name, s.Role = orID(cs.Name, id), string(cs.Role)
		}
		acc := c.servers[id]
		if acc == nil {
			out = append(out, s)
			continue
		}
		s.Checks, s.Failed = acc.checks, acc.failed
		s.FailRate = share(int(acc.failed), int(acc.checks))
		names := make([]string, 0, len(acc.metrics))
		for n := range acc.metrics {
			names = append(names, n)
		}
		slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(metricRank(a), metricRank(b)), cmp.Compare(a, b)) })
		for _, n := range names {
			m := Metric{Name: n, Label: MetricLabel(n), Mean: acc.totals[n].mean(), Max: acc.totals[n].maxNum()}
			for i, v := range acc.metrics[n] {
				m.Points = append(m.Points, HealthPoint{At: c.buckets[i], Mean: v.mean(), Max: v.maxNum()})
			}
			s.Metrics = append(s.Metrics, m)
		}
		out = append(out, s)
	}
	return out
}

// metricRank orders the readings people look for first.
func metricRank(name string) int {
	if i := slices.Index([]string{"cpu_pct", "mem_pct", "db_conns_pct", "db_space_pct", "disk_pct", latencyMetric}, name); i >= 0 {
		return i
	}
	return 100
}

// fillEmpty gives an empty report its lists (empty, not null) and the
// scope's rooms.
func (rep *Report) fillEmpty(sc *resolved, cfg *config.Config) {
	c := &collected{rooms: map[string][]rollup.Stats{}, patrol: map[string]hourSet{}, sessions: map[string]*sessAcc{},
		servers: map[string]*serverAcc{}, sessPerRoom: map[string]int{}, incPerRm: map[string]int{}, p: rep.Period,
		loc: rep.Period.Start.Location(), step: "day", outcome: rep.Outcome, until: rep.Period.Start}
	c.summarise(cfg, sc)
	c.fill(rep, cfg, sc)
}

// changes compares the headline figures with the previous period's.
func changes(now, prev Headline) []Change {
	type fig struct {
		key, name, unit string
		now, prev       Num
		higherBetter    int // 1 higher is better, -1 lower is, 0 neither
	}
	figs := []fig{
		{"availability", "可用率", "%", pct(now.Availability), pct(prev.Availability), 1},
		{"good_share", "良好率（无延时卡顿）", "%", pct(now.GoodShare), pct(prev.GoodShare), 1},
		{"rtt_p95_ms", "延时 P95", "ms", now.RTTP95, prev.RTTP95, -1},
		{"stutter_min", "卡顿时长", "分钟", now.StutterMin, prev.StutterMin, -1},
		{"dropouts", "断线次数", "次", Num(now.Dropouts), Num(prev.Dropouts), -1},
		{"sessions", "监测开标场次", "场", Num(now.Sessions), Num(prev.Sessions), 0},
		{"sessions_disrupted", "中断场次", "场", Num(now.Disrupted), Num(prev.Disrupted), -1},
		{"incidents", "故障数", "起", Num(now.Incidents), Num(prev.Incidents), -1},
		{"breaches", "超时故障", "起", Num(now.Breaches), Num(prev.Breaches), -1},
		{"sla_compliance", "SLA 达标率", "%", pct(now.Compliance), pct(prev.Compliance), 1},
		{"mtta_min", "平均确认接单时长（MTTA）", "分钟", minutes(now.MTTAS), minutes(prev.MTTAS), -1},
		{"mttr_min", "平均处置时长（MTTR）", "分钟", minutes(now.MTTRS), minutes(prev.MTTRS), -1},
		{"remedy_success", "自动处置成功率", "%", pct(now.RemedySuccess), pct(prev.RemedySuccess), 1},
		{"patrol_coverage", "日常巡检覆盖率", "%", pct(now.PatrolCoverage), pct(prev.PatrolCoverage), 1},
	}
	out := make([]Change, 0, len(figs))
	for _, f := range figs {
		ch := Change{Figure: f.key, Name: f.name, Unit: f.unit, Now: f.now, Prev: f.prev, Delta: nanNum()}
		if f.now.Valid() && f.prev.Valid() {
			d := float64(f.now - f.prev)
			ch.Delta = Num(d)
			if math.Abs(d) > 1e-9 {
				ch.Better = float64(f.higherBetter)*d > 0
				ch.Worse = float64(f.higherBetter)*d < 0
			}
		}
		out = append(out, ch)
	}
	return out
}

func pct(n Num) Num     { return n * 100 }
func minutes(n Num) Num { return n / 60 }
