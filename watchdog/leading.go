package watchdog

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/decide"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/health"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/plan"
)

// replay is how far back a new leader reads the aggregates stream to
// rebuild its detectors' windows: the longest window and a margin.
func (w *Watchdog) replay() time.Duration {
	return max(w.cfg.Detect.Latency.Window, w.cfg.Detect.Stutter.Window) + 5*time.Second
}

// figuresEvery is how often an incident whose only change is worse figures
// is written.
const figuresEvery = 5 * time.Second

// leading is the leader's state: the chain of decisions (decide.Brain) and
// what it knows of the incidents. Only the leader goroutine touches it.
type leading struct {
	w     *Watchdog
	brain *decide.Brain
	exec  *plan.Executor
	// incidents are the active ones and those the planner needs, read
	// again after every change and at least every second.
	incidents []incident.Incident
	refreshed time.Time
	stale     bool
	// saved is the planner's book as last written to Redis.
	saved plan.Book
	// probeHealth are the probes with a problem written to Redis.
	probeHealth map[string]bool
	// lossy are the probes whose Samples went missing more than once
	// lately, read every lossReadEvery.
	lossy      map[string]lossVerdict
	lossReadAt time.Time
	lastBeats  time.Time
	lastGC     time.Time
}

// leaderRun is what the leader runs while it holds the lease.
func (w *Watchdog) leaderRun(ctx context.Context) {
	book := w.loadBook(ctx)
	city := w.city
	if w.health == nil {
		// No health checks run here: the decisions must not wait for
		// readings that will never come.
		c := *city
		c.Servers = slices.Clone(city.Servers)
		for i := range c.Servers {
			c.Servers[i].Health = nil
		}
		city = &c
	}
	l := &leading{w: w, brain: decide.New(city, w.clock.Now(), book), saved: book, probeHealth: map[string]bool{}, stale: true}
	l.exec = &plan.Executor{Store: w.store, Policy: l.brain.Policy(), FiguresEvery: figuresEvery, Logger: w.log}
	if w.health != nil {
		l.exec.Recheck = w.health.Recheck
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	aggs := make(chan []detect.Agg, 64)
	wg.Go(func() { w.readAggs(ctx, aggs) })
	readings := make(chan health.Reading, 1024)
	if w.health != nil {
		wg.Go(func() {
			w.health.Run(ctx, func(r health.Reading) {
				select {
				case readings <- r:
				default: // the leader is behind: a reading is dropped, the next one comes
				}
			})
		})
	}
	if w.dispatch != nil {
		wg.Go(func() { w.dispatch.Run(ctx) })
	}
	if w.remedy != nil {
		wg.Go(func() { w.remedy.Run(ctx) })
	}
	wg.Go(func() { w.deliverReports(ctx) })
	wg.Go(func() { w.seal(ctx) }) // evidence: sealing.go
	if w.rollups != nil {
		wg.Go(func() { w.compactLoop(ctx) })
	}
	tick := w.clock.NewTicker(w.cfg.Leader.Tick)
	defer tick.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case batch := <-aggs:
			now := w.clock.Now()
			for _, a := range batch {
				l.brain.AddAgg(a, now)
			}
			// Evaluate at once for news, at most every 20 ms.
			if now.Sub(last) >= 20*time.Millisecond {
				l.evaluate(ctx)
				last = now
			}
		case r := <-readings:
			l.reading(ctx, r)
			// A reading asked for at once (its server's rooms are in
			// trouble) is news too.
			if now := w.clock.Now(); now.Sub(last) >= 20*time.Millisecond {
				l.evaluate(ctx)
				last = now
			}
		case <-tick.Chan():
			l.evaluate(ctx)
			last = w.clock.Now()
		}
	}
}

// readAggs follows the aggregates stream from replay() ago.
func (w *Watchdog) readAggs(ctx context.Context, out chan<- []detect.Agg) {
	// Stream ids are Redis's real time, whatever the decisions' clock says.
	last := strconv.FormatInt(time.Now().Add(-w.replay()).UnixMilli(), 10) + "-0"
	for ctx.Err() == nil {
		res, err := w.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{w.aggsKey, last}, Count: 1000, Block: time.Second}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("read aggregates", "err", err)
				w.sleep(ctx, 500*time.Millisecond)
			}
			continue
		}
		var batch []detect.Agg
		for _, st := range res {
			for _, m := range st.Messages {
				last = m.ID
				data, _ := m.Values[fieldAggs].(string)
				var aggs []detect.Agg
				if err := json.Unmarshal([]byte(data), &aggs); err != nil {
					w.log.Warn("bad aggregates entry", "id", m.ID, "err", err)
					continue
				}
				batch = append(batch, aggs...)
			}
		}
		select {
		case out <- batch:
		case <-ctx.Done():
			return
		}
	}
}

// reading feeds one health reading to the detectors, keeps it in Redis for
// the console and folds it into the health roll-ups.
func (l *leading) reading(ctx context.Context, r health.Reading) {
	w := l.w
	l.brain.AddReading(r)
	result := "ok"
	if !r.OK {
		result = "failed"
	}
	w.m.healthTotal.WithLabelValues(result).Inc()
	if data, err := json.Marshal(r); err == nil {
		if err := w.rdb.HSet(ctx, w.bus.Key(KeyHealth), r.Server+"/"+r.Check, data).Err(); err != nil && ctx.Err() == nil {
			w.log.Debug("write health reading", "err", err)
		}
	}
	if w.rollups != nil {
		if err := w.rollups.AddReading(ctx, r); err != nil && ctx.Err() == nil {
			w.log.Debug("write health roll-up", "err", err)
		}
	}
}

// evaluate runs the chain of decisions and carries its actions out.
func (l *leading) evaluate(ctx context.Context) {
	w := l.w
	now := w.clock.Now()
	if now.Sub(l.lastBeats) >= time.Second {
		l.beats(ctx, now)
	}
	if l.stale || now.Sub(l.refreshed) >= time.Second {
		if err := l.refresh(ctx, now); err != nil {
			if ctx.Err() == nil {
				w.log.Warn("read incidents", "err", err)
			}
			return // deciding on incidents it cannot see would be guessing
		}
	}
	t := time.Now()
	thought := l.brain.Think(now, l.incidents)
	w.m.stage.WithLabelValues("think").Observe(time.Since(t).Seconds())
	for _, c := range thought.Changes {
		w.log.Debug("finding "+c.Transition.String(), "finding", c.Finding.ID(), "severity", c.Finding.Severity, "text", c.Finding.Text)
	}
	counts := map[vocab.Kind]int{}
	for _, s := range thought.Evidence.Series {
		for _, f := range s.Findings {
			counts[f.Kind]++
		}
	}
	for _, sv := range thought.Evidence.Servers {
		for _, f := range sv.Findings {
			counts[f.Kind]++
		}
	}
	for _, p := range thought.Evidence.Probes {
		if p.Silent {
			counts[vocab.KindProbeSilent]++
		}
	}
	for _, k := range vocab.Kinds {
		w.m.findings.WithLabelValues(string(k)).Set(float64(counts[k]))
	}
	t = time.Now()
	results := l.exec.Execute(ctx, thought.Actions, now)
	l.brain.Done(results)
	for _, r := range results {
		l.log(r)
		if r.Done && r.Action.Kind != plan.Recheck {
			l.stale = true
		}
	}
	w.m.stage.WithLabelValues("act").Observe(time.Since(t).Seconds())
	l.saveBook(ctx)
	l.probes(ctx, thought, now)
	if now.Sub(l.lastGC) >= time.Minute {
		l.lastGC = now
		l.housekeeping(ctx)
	}
}

// refresh reads the active incidents and those the planner needs.
func (l *leading) refresh(ctx context.Context, now time.Time) error {
	act, err := l.w.store.Active(ctx)
	if err != nil {
		return err
	}
	var more []incident.Incident
	if needs := l.brain.Needs(); len(needs) > 0 {
		if more, err = l.w.store.GetMany(ctx, needs); err != nil {
			return err
		}
	}
	l.incidents, l.refreshed, l.stale = append(act, more...), now, false
	classes := map[vocab.Class]int{}
	for _, inc := range act {
		classes[inc.Class]++
	}
	for _, c := range vocab.Classes {
		l.w.m.open.WithLabelValues(string(c)).Set(float64(classes[c]))
	}
	return nil
}

// log records what carrying out one action did.
func (l *leading) log(r plan.Result) {
	w, inc := l.w, r.Incident
	if !r.Done || r.Err != nil {
		return
	}
	switch r.Action.Kind {
	case plan.Open:
		w.m.opened.WithLabelValues(string(inc.Cause)).Inc()
		w.log.Info("incident opened", "id", inc.ID, "class", inc.Class, "cause", inc.Cause, "subject", inc.Subject, "rooms", inc.Place.Rooms, "summary", inc.Phenomenon.Summary)
	case plan.Retarget:
		w.log.Info("incident cause changed", "id", inc.ID, "cause", inc.Cause, "subject", inc.Subject)
	case plan.Merge:
		w.log.Info("incident merged", "id", inc.ID, "into", inc.MergedInto)
	case plan.Reopen:
		w.log.Info("incident reopened", "id", inc.ID, "summary", inc.Phenomenon.Summary)
	case plan.Resolve:
		w.log.Info("incident resolved", "id", inc.ID, "handling", inc.HandlingTime(inc.ResolvedAt).Round(time.Second))
	case plan.Breach:
		w.log.Warn("incident deadline breached", "id", inc.ID, "class", inc.Class, "deadline", inc.Deadline)
	}
}

// beats reads the probes' heartbeats.
func (l *leading) beats(ctx context.Context, now time.Time) {
	l.lastBeats = now
	ps, err := l.w.bus.ProbeStatuses(ctx)
	if err != nil {
		if ctx.Err() == nil {
			l.w.log.Debug("read probe heartbeats", "err", err)
		}
		return
	}
	beats := make([]detect.Beat, len(ps))
	for i, p := range ps {
		beats[i] = detect.Beat{ID: p.ID, Location: p.Location, Stopped: p.State == bus.ProbeStopped, LastSeen: p.LastSeen, Interval: time.Duration(p.HeartbeatMS) * time.Millisecond}
	}
	l.brain.SetBeats(beats)
}

// loadBook reads the planner's memory a former leader left.
func (w *Watchdog) loadBook(ctx context.Context) plan.Book {
	book := plan.Book{}
	all, err := w.rdb.HGetAll(ctx, w.bus.Key(KeyBook)).Result()
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("read the planner's book: starting afresh", "err", err)
		}
		return book
	}
	for k, v := range all {
		var t plan.Track
		if json.Unmarshal([]byte(v), &t) == nil {
			book[k] = t
		}
	}
	return book
}

// saveBook writes what changed in the planner's memory.
func (l *leading) saveBook(ctx context.Context) {
	w, book := l.w, l.brain.Book()
	pipe := w.rdb.Pipeline()
	key := w.bus.Key(KeyBook)
	for k, t := range book {
		if old, ok := l.saved[k]; ok && old == t {
			continue
		}
		if data, err := json.Marshal(t); err == nil {
			pipe.HSet(ctx, key, k, data)
		}
	}
	for k := range l.saved {
		if _, ok := book[k]; !ok {
			pipe.HDel(ctx, key, k)
		}
	}
	if pipe.Len() == 0 {
		return
	}
	if _, err := pipe.Exec(ctx); err != nil {
		if ctx.Err() == nil {
			w.log.Debug("write the planner's book", "err", err)
		}
		return
	}
	l.saved = book
}

// probeHealthEntry is a probe problem as kept in Redis for the console.
type probeHealthEntry struct {
	Probe     string    `json:"probe"`
	State     string    `json:"state"` // silent, local_fault or losing_samples
	Rooms     []string  `json:"rooms,omitempty"`
	Locations []string  `json:"locations,omitempty"`
	Since     time.Time `json:"since"`
	Summary   string    `json:"summary"`
	Updated   time.Time `json:"updated"`
}

// probes records probe problems — a silent probe, or one that alone sees
// a fault — as probe health, never as incidents.
func (l *leading) probes(ctx context.Context, t decide.Thought, now time.Time) {
	w := l.w
	key := w.bus.Key(KeyProbeHealth)
	seen := map[string]bool{}
	pipe := w.rdb.Pipeline()
	for _, p := range t.Correlation.Problems {
		if p.Cause != vocab.CauseProbe {
			continue
		}
		seen[p.Subject] = true
		state := "local_fault"
		if slices.Contains(p.Kinds, vocab.KindProbeSilent) {
			state = "silent"
		}
		data, _ := json.Marshal(probeHealthEntry{Probe: p.Subject, State: state, Rooms: p.Rooms, Locations: p.Locations, Since: p.Since, Summary: p.Summary, Updated: now})
		pipe.HSet(ctx, key, p.Subject, data)
		if !l.probeHealth[p.Subject] {
			w.log.Info("probe problem (not an incident)", "probe", p.Subject, "state", state, "summary", p.Summary)
		}
	}
	// Samples lost more than once lately: the probe's problem too.
	if now.Sub(l.lossReadAt) >= lossReadEvery {
		if v, err := readLoss(ctx, w.rdb, w.bus.Prefix(), now); err == nil {
			l.lossy, l.lossReadAt = v, now
		} else if ctx.Err() == nil {
			w.log.Debug("read lost samples", "err", err)
		}
	}
	for id, v := range l.lossy {
		if seen[id] {
			continue // its other problem says more
		}
		seen[id] = true
		data, _ := json.Marshal(probeHealthEntry{Probe: id, State: "losing_samples", Since: v.Since, Summary: v.summary(), Updated: now})
		pipe.HSet(ctx, key, id, data)
		if !l.probeHealth[id] {
			w.log.Warn("probe problem (not an incident): samples lost", "probe", id, "gaps", v.Gaps, "missing", v.Missing, "window", LossWindow)
		}
	}
	for id := range l.probeHealth {
		if !seen[id] {
			pipe.HDel(ctx, key, id)
		}
	}
	l.probeHealth = seen
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil && ctx.Err() == nil {
			w.log.Debug("write probe health", "err", err)
		}
	}
}

// housekeeping reports the group's pending count and removes consumers that
// left nothing pending and have been idle for an hour.
func (l *leading) housekeeping(ctx context.Context) {
	w := l.w
	if p, err := w.rdb.XPending(ctx, w.samplesKey, Group).Result(); err == nil {
		w.m.pending.Set(float64(p.Count))
	}
	cs, err := w.rdb.XInfoConsumers(ctx, w.samplesKey, Group).Result()
	if err != nil {
		return
	}
	for _, c := range cs {
		if c.Pending == 0 && c.Idle > time.Hour && c.Name != w.opts.ID {
			if err := w.rdb.XGroupDelConsumer(ctx, w.samplesKey, Group, c.Name).Err(); err == nil {
				w.log.Info("removed an idle consumer", "consumer", c.Name)
			}
		}
	}
}
