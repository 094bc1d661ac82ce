package scenario

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/decide"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/health"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/plan"
)

// arrival is how long after a window's end its Samples reach the leader.
const arrival = 200 * time.Millisecond

// defaultReadings are a healthy server's readings.
var defaultReadings = map[string]float64{"cpu_pct": 20, "mem_pct": 40, "db_conns_pct": 30, "disk_pct": 50, "tls_expiry_days": 90}

type simProbe struct{ id, loc string }

type check struct {
	server  string
	name    string
	kind    string
	metrics []string
	every   time.Duration
	next    time.Time
}

// sim is one run of a scenario.
type sim struct {
	s       *Scenario
	brain   *decide.Brain
	store   *incident.MemStore
	exec    *plan.Executor
	probes  []simProbe
	rooms   []string
	checks  []*check
	recheck map[string]time.Time // server → when a recheck's readings come
	lastBy  map[string]time.Time // server → last recheck asked
	acts    []Act
	trace   []string
	// now is the simulated time; next the start of the next window to
	// hand over.
	now      time.Time
	next     time.Time
	lastBeat map[string]time.Time
	down     map[string]bool
	// debug traces every change in the problems seen.
	debug     bool
	lastProbs string
}

// debugTick traces the problems when they change.
func (x *sim) debugTick(now time.Time, t *decide.Thought) {
	var b strings.Builder
	for _, p := range t.Correlation.Problems {
		fmt.Fprintf(&b, " %s[%s", p.Key, strings.Join(p.Explains, ","))
		if !p.ClearSince.IsZero() {
			fmt.Fprintf(&b, " clear@%s", x.at(p.ClearSince))
		}
		if !p.FadingSince.IsZero() {
			fmt.Fprintf(&b, " fade@%s", x.at(p.FadingSince))
		}
		if len(p.AwaitingHealth) > 0 {
			fmt.Fprintf(&b, " await %s", strings.Join(p.AwaitingHealth, ","))
		}
		b.WriteString("]")
	}
	if b.String() != x.lastProbs {
		x.lastProbs = b.String()
		x.trace = append(x.trace, fmt.Sprintf("%s   problems:%s", x.at(now), b.String()))
	}
}

func newSim(s *Scenario) *sim {
	x := &sim{s: s, store: incident.NewMemStore(s.City.Watchdog.Incidents), recheck: map[string]time.Time{}, lastBy: map[string]time.Time{},
		next: s.start, lastBeat: map[string]time.Time{}, down: map[string]bool{}}
	x.brain = decide.New(s.City, s.start, nil)
	x.exec = &plan.Executor{Store: x.store, Policy: x.brain.Policy(), Recheck: x.askRecheck}
	for _, loc := range slices.Sorted(maps.Keys(s.Probes)) {
		for i := 1; i <= s.Probes[loc]; i++ {
			x.probes = append(x.probes, simProbe{id: fmt.Sprintf("%s-%d", loc, i), loc: loc})
		}
	}
	x.rooms = s.Rooms
	if len(x.rooms) == 0 {
		for _, r := range s.City.Rooms {
			x.rooms = append(x.rooms, r.ID)
		}
	}
	for _, srv := range s.City.Servers {
		for i, hc := range srv.Health {
			c := &check{server: srv.ID, name: health.CheckName(hc.Type, i), kind: hc.Type, every: hc.Interval}
			c.metrics = slices.Sorted(maps.Keys(hc.Metrics))
			if hc.Type == config.HealthHTTP && len(hc.URL) > 5 && hc.URL[:6] == "https:" {
				c.metrics = []string{"tls_expiry_days"}
			}
			// Checks start spread over their interval, as real ones do.
			c.next = s.start.Add(time.Duration(hash(srv.ID, c.name) % uint64(hc.Interval)))
			x.checks = append(x.checks, c)
		}
	}
	x.acts = slices.Clone(s.Actions)
	slices.SortStableFunc(x.acts, func(a, b Act) int { return int(a.At - b.At) })
	return x
}

// askRecheck is the executor's Recheck: the servers' checks run now, their
// readings come a health check's latency later (at most one a second per
// server).
func (x *sim) askRecheck(servers []string) {
	// The time is set by run before Execute.
	for _, srv := range servers {
		if last, ok := x.lastBy[srv]; ok && x.now.Sub(last) < time.Second {
			continue
		}
		x.lastBy[srv] = x.now
		x.recheck[srv] = x.now.Add(x.s.HealthLatency)
	}
}

// run simulates the whole scenario.
func (x *sim) run(ctx context.Context) error {
	s := x.s
	end := s.start.Add(s.Duration)
	for x.now = s.start.Add(arrival); !x.now.After(end); x.now = x.now.Add(s.Tick) {
		now := x.now
		if err := ctx.Err(); err != nil {
			return err
		}
		// The windows whose Samples have arrived by now.
		for !x.next.Add(time.Second + arrival).After(now) {
			x.window(x.next, now)
			x.next = x.next.Add(time.Second)
		}
		x.health(now)
		x.people(ctx, now)
		incs, err := x.incidents(ctx)
		if err != nil {
			return err
		}
		t := x.brain.Think(now, incs)
		if x.debug {
			x.debugTick(now, &t)
		}
		results := x.exec.Execute(ctx, t.Actions, now)
		x.brain.Done(results)
		for _, r := range results {
			if r.Err != nil {
				x.trace = append(x.trace, fmt.Sprintf("%s %s: %v", x.at(now), r.Action, r.Err))
			} else if r.Done && r.Action.Kind != plan.Update && r.Action.Kind != plan.Recheck {
				x.trace = append(x.trace, fmt.Sprintf("%s %s → %s", x.at(now), r.Action, r.Incident.ID))
			}
		}
	}
	return nil
}

func (x *sim) at(t time.Time) string { return fmtOffset(t.Sub(x.s.start)) }

// incidents are the active ones and those the planner asks for.
func (x *sim) incidents(ctx context.Context) ([]incident.Incident, error) {
	act, err := x.store.Active(ctx)
	if err != nil {
		return nil, err
	}
	more, err := x.store.GetMany(ctx, x.brain.Needs())
	if err != nil {
		return nil, err
	}
	return append(act, more...), nil
}

// active returns the faults on at t.
func (x *sim) active(t time.Time) []*Fault {
	var out []*Fault
	off := t.Sub(x.s.start)
	for i := range x.s.Faults {
		f := &x.s.Faults[i]
		if off < f.At || (f.For > 0 && off >= f.At+f.For) {
			continue
		}
		if f.Flap > 0 && (off-f.At)%f.Flap >= f.On {
			continue
		}
		out = append(out, f)
	}
	return out
}

// effect sums what the faults on at t do to one probe's participants in
// one room.
func (x *sim) effect(faults []*Fault, p simProbe, room string) (e Effect, silent bool) {
	site := x.s.City.Rooms[slices.IndexFunc(x.s.City.Rooms, func(r config.Room) bool { return r.ID == room })]
	apply := func(o *Effect) {
		e.RTT += o.RTT
		e.Cut = e.Cut || o.Cut
		if o.Drop {
			e.Drop = true
			e.DropEvery = o.DropEvery
		}
		e.Stutter = max(e.Stutter, o.Stutter)
	}
	for _, f := range faults {
		if len(f.Only) > 0 && !slices.Contains(f.Only, room) {
			continue
		}
		switch {
		case f.Server != "" && f.Rooms != nil && slices.Contains(site.Servers, f.Server):
			apply(f.Rooms)
		case f.Path != "" && f.Path == p.loc:
			apply(&f.Effect)
		case f.Uplink != "" && f.Uplink == site.SubCenter && p.loc != f.Uplink:
			apply(&f.Effect)
		case f.Room == room:
			apply(&f.Effect)
		case f.Probe == p.id:
			if f.Silent {
				silent = true
			}
			apply(&f.Effect)
		}
	}
	return e, silent
}

// window hands the leader every probe's Samples of the window starting at
// win, and the probes' heartbeats.
func (x *sim) window(win, now time.Time) {
	faults := x.active(win.Add(time.Second / 2))
	n := x.s.Participants
	var beats []detect.Beat
	for _, p := range x.probes {
		silent := false
		for _, room := range x.rooms {
			e, quiet := x.effect(faults, p, room)
			if quiet {
				silent = true
				continue
			}
			for _, tr := range x.s.Transports {
				a := detect.Agg{Room: room, Probe: p.id, Transport: tr, Location: p.loc, Session: "S-sim",
					Window: win, End: win.Add(time.Second), Samples: n, WindowMS: float64(n) * 1000}
				switch {
				case e.Cut:
					a.Down, a.Error = n, "dial: connection refused"
					if x.wasUp(p.id, room, tr) {
						a.Dropouts = n
					}
				default:
					a.ConnectedMS = float64(n) * 1000
					seed := hash(p.id, room, tr) ^ uint64(win.Unix())*0x9e3779b97f4a7c15
					for i := range n {
						jitter := time.Duration((seed>>(8*i))%10) * time.Millisecond
						rtt := ms(x.s.BaseRTT + e.RTT + jitter)
						a.RTT = append(a.RTT, rtt)
						a.RTTMaxMS = max(a.RTTMaxMS, rtt)
					}
					if e.Drop {
						every := e.DropEvery
						if every <= 0 {
							every = 5 * time.Second
						}
						if win.Sub(x.s.start)%every == 0 {
							a.Dropouts, a.Down, a.Reconnects, a.Error = n, n, n, "read: connection reset by peer"
						}
					}
					if e.Stutter > 0 {
						a.FreezeMS, a.FreezeCount = e.Stutter/100*1000*float64(n), n
					}
				}
				x.up(p.id, room, tr, !e.Cut)
				x.brain.AddAgg(a, now)
			}
		}
		if !silent {
			x.lastBeat[p.id] = now
		}
		last, ok := x.lastBeat[p.id]
		if !ok {
			last = x.s.start
		}
		beats = append(beats, detect.Beat{ID: p.id, Location: p.loc, LastSeen: last, Interval: time.Second})
	}
	x.brain.SetBeats(beats)
}

// wasUp reports whether a participant group was connected in its last
// window (a cut drops it once).
func (x *sim) wasUp(probe, room, tr string) bool {
	k := probe + "|" + room + "|" + tr
	down, seen := x.down[k]
	return !seen || !down
}

func (x *sim) up(probe, room, tr string, up bool) { x.down[probe+"|"+room+"|"+tr] = !up }

// health runs the checks due by now and the rechecks asked for.
func (x *sim) health(now time.Time) {
	faults := x.active(now)
	for _, c := range x.checks {
		due := !c.next.After(now)
		if at, ok := x.recheck[c.server]; ok && !at.After(now) {
			due = true
		}
		if !due {
			continue
		}
		at := now
		if !c.next.After(now) {
			at = c.next
			for !c.next.After(now) {
				c.next = c.next.Add(c.every)
			}
		}
		x.brain.AddReading(x.reading(c, at, faults))
	}
	for srv, at := range x.recheck {
		if !at.After(now) {
			delete(x.recheck, srv)
		}
	}
}

// reading is what one check of a server reads while the faults hold.
func (x *sim) reading(c *check, at time.Time, faults []*Fault) health.Reading {
	r := health.Reading{Server: c.server, Check: c.name, Kind: c.kind, At: at, OK: true, LatencyMS: ms(x.s.HealthLatency)}
	values := maps.Clone(defaultReadings)
	for _, f := range faults {
		if f.Server != c.server {
			continue
		}
		maps.Copy(values, f.Health)
		if f.Down || (f.ScrapeFails && c.kind == config.HealthPrometheus) {
			r.OK, r.Error = false, "connection refused"
		}
	}
	if r.OK && len(c.metrics) > 0 {
		r.Values = map[string]float64{}
		for _, m := range c.metrics {
			if v, ok := values[m]; ok {
				r.Values[m] = v
			}
		}
	}
	return r
}

// people carries out the people's actions due by now.
func (x *sim) people(ctx context.Context, now time.Time) {
	for len(x.acts) > 0 && !x.s.start.Add(x.acts[0].At).After(now) {
		a := x.acts[0]
		x.acts = x.acts[1:]
		id := x.latest(ctx, a.Key)
		if id == "" {
			x.trace = append(x.trace, fmt.Sprintf("%s %s %s: no incident", x.at(now), a.Do, a.Key))
			continue
		}
		by := a.By
		if by == "" {
			by = "张工"
		}
		act := incident.Action{Kind: incident.ActionKind(a.Do), Actor: by, At: now, Text: a.Text, Class: vocab.Class(a.Class)}
		if a.Do == "note" && act.Text == "" {
			act.Text = "note"
		}
		if _, err := x.store.Act(ctx, id, act); err != nil {
			x.trace = append(x.trace, fmt.Sprintf("%s %s %s: %v", x.at(now), a.Do, id, err))
		} else {
			x.trace = append(x.trace, fmt.Sprintf("%s %s %s by %s", x.at(now), a.Do, id, by))
		}
	}
}

// latest is the id of the newest incident with a cause key.
func (x *sim) latest(ctx context.Context, key string) string {
	all, _ := x.store.List(ctx, incident.Filter{})
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Key == key {
			return all[i].ID
		}
	}
	return ""
}

func hash(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fmtOffset renders an offset from the start like "1m05s".
func fmtOffset(d time.Duration) string {
	d = d.Round(time.Second)
	m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
	if m == 0 {
		return fmt.Sprintf("%ds", s)
	}
	return fmt.Sprintf("%dm%02ds", m, s)
}
