package watchdog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/dispatch"
	"github.com/bidwatch/bidwatch/watchdog/health"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/remedy"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// Watchdog is one watchdog replica. Run as many as the load needs against
// one Redis: they split the Samples, and one of them leads.
type Watchdog struct {
	opts       Options
	city       *config.Config
	cfg        config.Watchdog
	bus        *bus.Bus
	rdb        redis.UniversalClient
	clock      clockwork.Clock
	log        *slog.Logger
	m          *metrics
	store      *incident.RedisStore
	health     *health.Runner
	dispatch   *dispatch.Dispatcher
	remedy     *remedy.Runner
	samplesKey string
	aggsKey    string
	ingest     *rollup.Ingest
	rollups    *rollup.RedisStore
	leader     atomic.Bool
	started    time.Time
	seq        *seqCheck
}

// New prepares a replica; Run starts it.
func New(opts Options) (*Watchdog, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, fmt.Errorf("watchdog metrics: %w", err)
	}
	w := &Watchdog{
		opts:       opts,
		city:       opts.Config,
		cfg:        opts.Config.Watchdog,
		bus:        opts.Bus,
		rdb:        opts.Bus.Client(),
		clock:      opts.Clock,
		log:        opts.Logger.With("component", "watchdog", "replica", opts.ID),
		m:          m,
		samplesKey: opts.Bus.Key(bus.KeySamples),
		aggsKey:    opts.Bus.Key(KeyAggs),
	}
	w.store = incident.NewRedisStore(w.rdb, opts.Bus.Prefix(), w.cfg.Incidents).WithDurable(opts.Bus)
	if w.seq, err = newSeqCheck(w.rdb, opts.Bus.Prefix(), 2*w.cfg.Consumer.ClaimIdle, opts.Registry); err != nil {
		return nil, err
	}
	if !opts.NoRollups {
		rep := opts.Config.Reports
		w.ingest = &rollup.Ingest{Prefix: opts.Bus.Prefix(), Thresholds: rollup.Thresholds{DegradedRTT: w.cfg.Detect.Latency.Degraded},
			RawRetention: rep.RawRetention, RollupRetention: rep.RollupRetention}
		w.rollups = rollup.NewRedisStore(w.rdb, opts.Bus.Prefix(), rep.Location(), rep.RollupRetention)
	}
	if !opts.NoHealth {
		w.health, err = health.NewRunner(opts.Config, health.RunnerOptions{Client: opts.HTTPClient, Clock: opts.Clock, Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
	}
	if !opts.NoDispatch && len(opts.Config.Dispatch.Channels) > 0 {
		w.dispatch, err = dispatch.New(dispatch.Options{City: opts.Config, Redis: w.rdb, Prefix: opts.Bus.Prefix(), Store: w.store,
			Clock: opts.Clock, Logger: opts.Logger, Env: opts.ChannelEnv, Channels: opts.Channels, Durable: opts.Bus})
		if err != nil {
			return nil, err
		}
	}
	if !opts.NoRemedy && len(opts.Config.Remedy.Runbooks) > 0 {
		w.remedy, err = remedy.New(remedy.Options{City: opts.Config, Store: w.store, Redis: w.rdb, Prefix: opts.Bus.Prefix(),
			Clock: opts.Clock, Logger: opts.Logger, Registry: opts.Registry, Escalate: w.escalate,
			// Verification reads the incident often enough to see it clearing
			// before clear_after resolves it (then it is marked mitigated).
			Poll: 250 * time.Millisecond})
		if err != nil {
			return nil, err
		}
	}
	return w, nil
}

// escalate asks dispatch, through the incident's events, to escalate it at
// once: a runbook did not fix it.
func (w *Watchdog) escalate(ctx context.Context, inc incident.Incident, reason string) error {
	_, err := w.store.Change(ctx, inc.ID, incident.EventEscalate, func(i incident.Incident) (incident.Incident, error) {
		if !i.State.Active() {
			return i, incident.ErrNoChange
		}
		i.Log(w.clock.Now(), incident.Actor, "escalated", reason)
		return i, nil
	})
	if errors.Is(err, incident.ErrNoChange) {
		return nil
	}
	return err
}

// ID is the replica's name in the consumer group and the lease.
func (w *Watchdog) ID() string { return w.opts.ID }

// Leader reports whether this replica leads right now.
func (w *Watchdog) Leader() bool { return w.leader.Load() }

// Store is the incident store the watchdog writes to; people's actions
// (acknowledge, note, resolve, sign off) go through it too.
func (w *Watchdog) Store() *incident.RedisStore { return w.store }

// Events streams incident events as they happen (opened, updated,
// resolved, …) until ctx ends. Any process on the same Redis may follow
// them with incident.NewRedisStore(...).Events.
func (w *Watchdog) Events(ctx context.Context) <-chan incident.Event {
	return w.store.Events(ctx, "$")
}

// Rollups reads the roll-ups this watchdog writes (nil with NoRollups).
func (w *Watchdog) Rollups() *rollup.RedisStore { return w.rollups }

// Gatherer is the registry holding the watchdog's metrics.
func (w *Watchdog) Gatherer() prometheus.Gatherer { return w.opts.Registry }

// Run consumes Samples, claims a dead replica's, takes part in the leader
// election and, while leading, runs detection, correlation, health checks
// and timers, until ctx ends. It returns nil then; it returns an error only
// when the consumer group cannot be created at start.
func (w *Watchdog) Run(ctx context.Context) error {
	w.started = w.clock.Now()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := w.ensureGroup(sctx)
	cancel()
	if err != nil {
		return err
	}
	w.log.Info("watchdog replica started", "stream", w.samplesKey, "group", Group, "health_checks", w.healthChecks())
	var wg sync.WaitGroup
	wg.Go(func() { w.consume(ctx) })
	wg.Go(func() { w.claim(ctx) })
	wg.Go(func() { w.lead(ctx, w.leaderRun) })
	wg.Go(func() { w.heartbeat(ctx) })
	wg.Wait()
	w.log.Info("watchdog replica stopped")
	return nil
}

func (w *Watchdog) healthChecks() int {
	if w.health == nil {
		return 0
	}
	return w.health.Checks()
}

// ReplicaStatus is a replica's heartbeat in the replicas hash.
type ReplicaStatus struct {
	ID        string    `json:"id"`
	Leader    bool      `json:"leader"`
	StartedAt time.Time `json:"started_at"`
	LastSeen  time.Time `json:"last_seen"`
}

// heartbeat writes the replica's status every few seconds, and removes it
// on the way out.
func (w *Watchdog) heartbeat(ctx context.Context) {
	key := w.bus.Key(KeyReplicas)
	t := w.clock.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		data, _ := json.Marshal(ReplicaStatus{ID: w.opts.ID, Leader: w.Leader(), StartedAt: w.started, LastSeen: w.clock.Now()})
		_ = w.rdb.HSet(ctx, key, w.opts.ID, data).Err()
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = w.rdb.HDel(dctx, key, w.opts.ID).Err()
			cancel()
			return
		case <-t.Chan():
		}
	}
}
