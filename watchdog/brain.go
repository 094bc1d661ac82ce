package watchdog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/health"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// replay is how far back a new leader reads the aggregates stream to
// rebuild its detectors' windows: the longest window and a margin.
func (w *Watchdog) replay() time.Duration {
	return max(w.cfg.Detect.Latency.Window, w.cfg.Detect.Stutter.Window) + 5*time.Second
}

// figuresEvery is how often an incident whose only change is worse figures
// is written.
const figuresEvery = 5 * time.Second

// brain is the leader's state: the detectors, the correlator, and what it
// knows of the incidents. Only the leader goroutine touches it.
type brain struct {
	w      *Watchdog
	engine *detect.Engine
	corr   *correlate.Correlator
	since  time.Time // leading since
	// known is the last stored incident per fingerprint, to skip writing
	// what did not change.
	known map[string]incident.Incident
	// written is when each fingerprint's incident was last written.
	written map[string]time.Time
	// active are the unresolved incidents, refreshed from the store.
	active    []incident.Incident
	refreshed time.Time
	// absent is when an active incident's problem was last seen gone.
	absent map[string]time.Time
	// probeHealth are the probes with a problem written to Redis.
	probeHealth map[string]bool
	lastBeats   time.Time
	lastGC      time.Time
}

// leaderRun is what the leader runs while it holds the lease.
func (w *Watchdog) leaderRun(ctx context.Context) {
	b := &brain{
		w:           w,
		engine:      detect.NewEngine(w.cfg.Detect),
		corr:        correlate.New(w.city),
		since:       w.clock.Now(),
		known:       map[string]incident.Incident{},
		written:     map[string]time.Time{},
		absent:      map[string]time.Time{},
		probeHealth: map[string]bool{},
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
	tick := time.NewTicker(w.cfg.Leader.Tick)
	defer tick.Stop()
	last := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case batch := <-aggs:
			now := w.clock.Now()
			for _, a := range batch {
				b.engine.AddAgg(a, now)
			}
			// Evaluate at once for news, at most every 20 ms.
			if time.Since(last) >= 20*time.Millisecond {
				b.evaluate(ctx)
				last = time.Now()
			}
		case r := <-readings:
			b.reading(ctx, r)
		case <-tick.C:
			b.evaluate(ctx)
			last = time.Now()
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
				sleep(ctx, 500*time.Millisecond)
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

// reading feeds one health reading to the detectors and keeps it in Redis
// for the console.
func (b *brain) reading(ctx context.Context, r health.Reading) {
	w := b.w
	b.engine.AddReading(r)
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
}

// evaluate runs the detectors, correlates, and brings the incidents up to
// date.
func (b *brain) evaluate(ctx context.Context) {
	w := b.w
	now := w.clock.Now()
	if time.Since(b.lastBeats) >= time.Second {
		b.beats(ctx)
	}
	t := time.Now()
	for _, c := range b.engine.Step(now) {
		w.log.Debug("finding "+c.Transition.String(), "finding", c.Finding.ID(), "severity", c.Finding.Severity, "text", c.Finding.Text)
	}
	snap := b.engine.Snapshot(now)
	w.m.stage.WithLabelValues("detect").Observe(time.Since(t).Seconds())
	counts := map[detect.Kind]int{}
	for _, f := range snap.Findings {
		counts[f.Kind]++
	}
	for _, k := range []detect.Kind{detect.KindLatency, detect.KindStutter, detect.KindDropout, detect.KindServerDown, detect.KindSaturation, detect.KindProbeSilent} {
		w.m.findings.WithLabelValues(string(k)).Set(float64(counts[k]))
	}
	t = time.Now()
	problems := b.corr.Correlate(snap)
	w.m.stage.WithLabelValues("correlate").Observe(time.Since(t).Seconds())
	t = time.Now()
	if err := b.reconcile(ctx, problems, now); err != nil && ctx.Err() == nil {
		w.log.Warn("incidents", "err", err)
	}
	b.probes(ctx, problems, now)
	w.m.stage.WithLabelValues("reconcile").Observe(time.Since(t).Seconds())
	if time.Since(b.lastGC) >= time.Minute {
		b.lastGC = time.Now()
		b.housekeeping(ctx)
	}
}

// beats reads the probes' heartbeats.
func (b *brain) beats(ctx context.Context) {
	b.lastBeats = time.Now()
	ps, err := b.w.bus.ProbeStatuses(ctx)
	if err != nil {
		if ctx.Err() == nil {
			b.w.log.Debug("read probe heartbeats", "err", err)
		}
		return
	}
	beats := make([]detect.Beat, len(ps))
	for i, p := range ps {
		beats[i] = detect.Beat{ID: p.ID, Location: p.Location, Stopped: p.State == bus.ProbeStopped, LastSeen: p.LastSeen, Interval: time.Duration(p.HeartbeatMS) * time.Millisecond}
	}
	b.engine.SetBeats(beats)
}

// reconcile opens, updates, resolves and flags incidents for the problems
// seen now.
func (b *brain) reconcile(ctx context.Context, problems []correlate.Problem, now time.Time) error {
	w := b.w
	store, policy := w.store, w.store.Policy()
	present := map[string]bool{}
	changed := false
	var errs []error
	for _, p := range problems {
		if !p.Incident() {
			continue
		}
		present[p.Fingerprint] = true
		if inc, ok := b.known[p.Fingerprint]; ok {
			switch _, o := incident.Update(inc, p, now, policy); {
			case o == incident.Unchanged:
				continue
			case o == incident.Figures && time.Since(b.written[p.Fingerprint]) < figuresEvery:
				// Worse figures only: written every figuresEvery, not at
				// every evaluation.
				continue
			}
		}
		inc, o, err := store.Observe(ctx, p, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b.known[p.Fingerprint] = inc
		b.written[p.Fingerprint] = time.Now()
		if o != incident.Unchanged {
			changed = true
		}
		switch o {
		case incident.Opened:
			w.m.opened.WithLabelValues(string(p.Cause)).Inc()
			w.log.Info("incident opened", "id", inc.ID, "class", inc.Class, "cause", inc.Cause, "subject", inc.Subject, "rooms", inc.Place.Rooms, "summary", p.Summary)
		case incident.Reopened:
			w.log.Info("incident reopened", "id", inc.ID, "summary", p.Summary)
		}
	}
	if changed || time.Since(b.refreshed) >= time.Second {
		act, err := store.Active(ctx)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		b.active, b.refreshed = act, time.Now()
	}
	grace := now.Sub(b.since) >= w.cfg.Leader.TakeoverGrace
	classes := map[string]int{}
	for _, inc := range b.active {
		classes[inc.Class]++
		if slices.ContainsFunc(inc.Fingerprints, func(fp string) bool { return present[fp] }) {
			delete(b.absent, inc.ID)
		} else {
			since, ok := b.absent[inc.ID]
			if !ok {
				since = now
				b.absent[inc.ID] = since
			}
			// Gone for the settle time (so one evaluation without it is
			// not a recovery), and past the takeover grace.
			if grace && now.Sub(since) >= w.city.Watchdog.Correlate.Settle {
				text := "recovered: no symptom for clear_after; resolved automatically"
				if o, ok := absorbedBy(inc, b.active, present); ok {
					// Not a recovery: the same symptoms now belong to a
					// problem whose cause was refined (a room's to its server).
					text = fmt.Sprintf("merged into %s: the same symptoms, cause refined to %s", o.ID, o.CauseText)
				}
				res, err := store.Act(ctx, inc.ID, incident.Action{Kind: incident.ActResolve, Actor: incident.Actor, At: now, Text: text})
				if err != nil && !errors.Is(err, incident.ErrTransition) && !errors.Is(err, incident.ErrFrozen) {
					errs = append(errs, err)
					continue
				}
				delete(b.absent, inc.ID)
				for _, fp := range inc.Fingerprints {
					if err == nil {
						b.known[fp] = res
					} else {
						delete(b.known, fp)
					}
				}
				b.refreshed = time.Time{}
				w.log.Info("incident resolved", "id", inc.ID, "handling", res.HandlingTime(now).Round(time.Second))
				continue
			}
		}
		if !inc.Breached && !now.Before(inc.Deadline) {
			res, err := store.Act(ctx, inc.ID, incident.Action{Kind: incident.ActBreach, Actor: incident.Actor, At: now})
			if err != nil && !errors.Is(err, incident.ErrTransition) {
				errs = append(errs, err)
				continue
			}
			if err == nil {
				w.log.Warn("incident deadline breached", "id", inc.ID, "class", inc.Class, "deadline", inc.Deadline)
				for _, fp := range res.Fingerprints {
					b.known[fp] = res
				}
			}
			b.refreshed = time.Time{}
		}
	}
	for id := range b.absent {
		if !slices.ContainsFunc(b.active, func(i incident.Incident) bool { return i.ID == id }) {
			delete(b.absent, id)
		}
	}
	for _, class := range []string{"minor", "partial", "outage", "major"} {
		w.m.open.WithLabelValues(class).Set(float64(classes[class]))
	}
	return errors.Join(errs...)
}

// probeHealthEntry is a probe problem as kept in Redis for the console.
type probeHealthEntry struct {
	Probe     string    `json:"probe"`
	State     string    `json:"state"` // silent or local_fault
	Rooms     []string  `json:"rooms,omitempty"`
	Locations []string  `json:"locations,omitempty"`
	Since     time.Time `json:"since"`
	Summary   string    `json:"summary"`
	Updated   time.Time `json:"updated"`
}

// probes records probe problems — a silent probe, or one that alone sees
// a fault — as probe health, never as incidents.
func (b *brain) probes(ctx context.Context, problems []correlate.Problem, now time.Time) {
	w := b.w
	key := w.bus.Key(KeyProbeHealth)
	seen := map[string]bool{}
	pipe := w.rdb.Pipeline()
	for _, p := range problems {
		if p.Cause != correlate.CauseProbe {
			continue
		}
		seen[p.Subject] = true
		state := "local_fault"
		if slices.Contains(p.Kinds, string(detect.KindProbeSilent)) {
			state = "silent"
		}
		data, _ := json.Marshal(probeHealthEntry{Probe: p.Subject, State: state, Rooms: p.Rooms, Locations: p.Locations, Since: p.Since, Summary: p.Summary, Updated: now})
		pipe.HSet(ctx, key, p.Subject, data)
		if !b.probeHealth[p.Subject] {
			w.log.Info("probe problem (not an incident)", "probe", p.Subject, "state", state, "summary", p.Summary)
		}
	}
	for id := range b.probeHealth {
		if !seen[id] {
			pipe.HDel(ctx, key, id)
		}
	}
	b.probeHealth = seen
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil && ctx.Err() == nil {
			w.log.Debug("write probe health", "err", err)
		}
	}
}

// housekeeping reports the group's pending count and removes consumers that
// left nothing pending and have been idle for an hour.
func (b *brain) housekeeping(ctx context.Context) {
	w := b.w
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

// absorbedBy finds the active incident, other than inc, whose problem is
// present now and covers every room of inc: inc's symptoms did not go away,
// they were folded into a problem with a refined cause.
func absorbedBy(inc incident.Incident, active []incident.Incident, present map[string]bool) (incident.Incident, bool) {
	if len(inc.Place.Rooms) == 0 {
		return incident.Incident{}, false
	}
	for _, o := range active {
		if o.ID == inc.ID || !slices.ContainsFunc(o.Fingerprints, func(fp string) bool { return present[fp] }) {
			continue
		}
		covered := true
		for _, r := range inc.Place.Rooms {
			if !slices.Contains(o.Place.Rooms, r) {
				covered = false
				break
			}
		}
		if covered {
			return o, true
		}
	}
	return incident.Incident{}, false
}
