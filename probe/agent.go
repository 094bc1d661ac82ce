package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
)

// DefaultFlushTimeout bounds how long a shutdown spends publishing what is
// spooled before leaving the rest on disk.
const DefaultFlushTimeout = 10 * time.Second

// Options configure an Agent. Zero values take the documented defaults.
type Options struct {
	// ID names this probe; default "<location>@<hostname>".
	ID string
	// Location is the sub-center whose network the agent runs in; required.
	Location string
	// Version is reported in the heartbeat.
	Version string

	// Bus is the Redis connection; required. The caller closes it after Run.
	Bus *bus.Bus

	// Rooms the agent probes and patrols, from the city configuration;
	// Probe holds the participants' settings (defaults applied).
	Rooms []config.Room
	Probe config.Probe
	// Participants is how many participants of each transport join each
	// room; default {"ws": 1}. A transport a room cannot speak is skipped.
	Participants map[string]int
	// Transports is the participant registry; default Transports(). Tests
	// put fakes here.
	Transports map[string]Factory

	// ScheduleFile is a YAML schedule (see ParseScheduleYAML), re-read when it
	// changes; FileCheckInterval is how often that is checked (default 5 s).
	ScheduleFile      string
	FileCheckInterval time.Duration
	// FeedURL is the trading system's JSON schedule feed, polled every
	// FeedInterval (default 1 min) with FeedHeader sent along.
	FeedURL      string
	FeedInterval time.Duration
	FeedHeader   http.Header
	HTTPClient   *http.Client

	// Lead and Tail widen a session's probing (default 10 min each; negative
	// for none). Patrol visits each room for PatrolDuration (default 60 s)
	// every PatrolInterval (default 15 min; negative disables patrol).
	Lead, Tail                     time.Duration
	PatrolInterval, PatrolDuration time.Duration

	// SpoolDir holds the spool; empty keeps it in memory only (lost on exit).
	// SpoolMaxBytes bounds it (default 256 MiB). SpoolFsync is its fsync
	// policy (default FsyncEverySec).
	SpoolDir      string
	SpoolMaxBytes int64
	SpoolFsync    FsyncPolicy

	// HeartbeatInterval is how often the agent's status is written (default 5 s).
	HeartbeatInterval time.Duration
	// MetricsListen is the address for Prometheus /metrics ("127.0.0.1:9410");
	// empty serves none.
	MetricsListen string
	// FlushTimeout bounds the publishing at shutdown (default 10 s).
	FlushTimeout time.Duration

	Logger *slog.Logger
	// Now is the clock the schedule is read with; default time.Now.
	Now func() time.Time
}

// Agent is a probe agent. Create it with New and run it with Run, once.
type Agent struct {
	opts    Options
	bus     *bus.Bus
	spool   *Spool
	metrics *metrics
	store   *scheduleStore
	rooms   map[string]config.Room
	policy  Policy
	env     *runnerEnv
	pub     *publisher
	file    *fileSource
	feed    *feedSource
	ln      net.Listener
	logger  *slog.Logger
	now     func() time.Time
	host    string
	started time.Time

	mu      sync.Mutex
	running map[string]*runner
	runSeq  uint64
}

// New checks opts, opens the spool (taking up what an earlier run left) and
// the metrics listener, and reads the schedule file: a bad file is an error
// here (later, while running, a bad edit is logged and the last good
// schedule kept).
func New(opts Options) (*Agent, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	a := &Agent{
		opts:    opts,
		bus:     opts.Bus,
		store:   newScheduleStore(),
		rooms:   map[string]config.Room{},
		logger:  opts.Logger.With("component", "probe", "probe", opts.ID, "location", opts.Location),
		now:     opts.Now,
		running: map[string]*runner{},
	}
	a.host, _ = os.Hostname()
	for _, r := range opts.Rooms {
		a.rooms[r.ID] = r
	}
	patrol := slices.Sorted(maps.Keys(a.rooms))
	a.policy = Policy{Lead: opts.Lead, Tail: opts.Tail, PatrolInterval: opts.PatrolInterval, PatrolDuration: opts.PatrolDuration, PatrolRooms: patrol}

	spool, err := OpenSpool(SpoolOptions{Dir: opts.SpoolDir, MaxBytes: opts.SpoolMaxBytes, Fsync: opts.SpoolFsync, Logger: a.logger})
	if err != nil {
		return nil, err
	}
	a.spool = spool
	a.metrics = newMetrics(spool)
	a.pub = &publisher{bus: a.bus, spool: spool, metrics: a.metrics, logger: a.logger}

	tag := make([]byte, 4)
	_, _ = rand.Read(tag)
	a.env = &runnerEnv{
		probeID: opts.ID, location: opts.Location, tag: hex.EncodeToString(tag),
		probe: opts.Probe, transports: opts.Transports, counts: opts.Participants,
		spool: spool, metrics: a.metrics, logger: a.logger,
	}

	known := func(id string) bool { _, ok := a.rooms[id]; return ok }
	if opts.ScheduleFile != "" {
		a.file = &fileSource{path: opts.ScheduleFile, interval: opts.FileCheckInterval, knownRoom: known, store: a.store,
			logger: a.logger, onError: func() { a.metrics.scheduleErrors.WithLabelValues("file").Inc() }}
		a.store.register(a.file.source())
		if err := a.file.load(); err != nil {
			_ = spool.Close()
			return nil, err
		}
	}
	if opts.FeedURL != "" {
		a.feed = &feedSource{url: opts.FeedURL, header: opts.FeedHeader, interval: opts.FeedInterval, client: opts.HTTPClient,
			knownRoom: known, store: a.store, logger: a.logger,
			onError: func() { a.metrics.scheduleErrors.WithLabelValues("feed").Inc() }}
		a.store.register(a.feed.source())
	}
	if opts.MetricsListen != "" {
		ln, err := net.Listen("tcp", opts.MetricsListen)
		if err != nil {
			_ = spool.Close()
			return nil, fmt.Errorf("metrics listen: %w", err)
		}
		a.ln = ln
	}
	return a, nil
}

// defaults fills in and checks the options.
func (o *Options) defaults() error {
	var errs []error
	if o.Location == "" {
		errs = append(errs, errors.New("location: missing"))
	}
	if o.Bus == nil {
		errs = append(errs, errors.New("bus: missing"))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ID == "" {
		host, _ := os.Hostname()
		o.ID = o.Location + "@" + host
	}
	if strings.ContainsAny(o.ID, "/ \t\n") {
		errs = append(errs, fmt.Errorf("id: %q must not contain '/' or spaces", o.ID))
	}
	if o.Transports == nil {
		o.Transports = Transports()
	}
	if o.Participants == nil {
		o.Participants = map[string]int{"ws": 1}
	}
	for _, name := range slices.Sorted(maps.Keys(o.Participants)) {
		if _, ok := o.Transports[name]; !ok {
			errs = append(errs, fmt.Errorf("participants: unknown transport %q (known: %s)", name, strings.Join(TransportNames(o.Transports), ", ")))
		}
		if o.Participants[name] < 0 {
			errs = append(errs, fmt.Errorf("participants.%s: must not be negative, got %d", name, o.Participants[name]))
		}
	}
	seen := map[string]bool{}
	for i, r := range o.Rooms {
		if r.ID == "" || seen[r.ID] {
			errs = append(errs, fmt.Errorf("rooms[%d]: missing or duplicate id %q", i, r.ID))
		}
		seen[r.ID] = true
	}
	dflt := func(d *time.Duration, v time.Duration) {
		switch {
		case *d == 0:
			*d = v
		case *d < 0:
			*d = 0
		}
	}
	dflt(&o.Lead, DefaultLead)
	dflt(&o.Tail, DefaultTail)
	dflt(&o.PatrolInterval, DefaultPatrolInterval)
	dflt(&o.PatrolDuration, DefaultPatrolDuration)
	dflt(&o.FileCheckInterval, DefaultFileCheckInterval)
	dflt(&o.FeedInterval, DefaultFeedInterval)
	dflt(&o.HeartbeatInterval, DefaultHeartbeatInterval)
	dflt(&o.FlushTimeout, DefaultFlushTimeout)
	if o.FileCheckInterval == 0 || o.FeedInterval == 0 || o.HeartbeatInterval == 0 {
		errs = append(errs, errors.New("file check, feed and heartbeat intervals must be positive"))
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return errors.Join(errs...)
}

// MetricsAddr is the address /metrics is served on, or "".
func (a *Agent) MetricsAddr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Handler serves the agent's Prometheus metrics.
func (a *Agent) Handler() http.Handler {
	return promhttp.HandlerFor(a.metrics.reg, promhttp.HandlerOpts{Registry: a.metrics.reg})
}

// Running returns what is being probed now, sorted by key.
func (a *Agent) Running() []Assignment {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Assignment, 0, len(a.running))
	for _, r := range a.running {
		out = append(out, r.a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// probing returns the rooms being probed and the participants in them.
func (a *Agent) probing() ([]string, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rooms := map[string]bool{}
	n := 0
	for _, r := range a.running {
		rooms[r.a.Room] = true
		n += r.n
	}
	out := slices.Sorted(maps.Keys(rooms))
	if out == nil {
		out = []string{} // "rooms": [] for readers, not null
	}
	return out, n
}

// Run probes until ctx is done, then shuts down in order: participants
// leave, what they measured is published (for up to FlushTimeout; the rest
// stays in the spool for the next start), the heartbeat says "stopped".
func (a *Agent) Run(ctx context.Context) error {
	a.started = a.now()
	a.logger.Info("probe agent starting", "rooms", len(a.rooms), "participants", a.opts.Participants,
		"redis_embedded", a.bus.Embedded(), "spool", a.opts.SpoolDir)
	if err := a.bus.LoadScripts(ctx); err != nil {
		a.logger.Warn("redis not reachable at start: spooling until it is", "err", err)
	}

	var bg sync.WaitGroup
	bgCtx, stopBg := context.WithCancel(ctx)
	defer stopBg()
	goBg := func(f func(context.Context)) {
		bg.Add(1)
		go func() { defer bg.Done(); f(bgCtx) }()
	}
	var srv *http.Server
	served := make(chan struct{})
	if a.ln != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", a.Handler())
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			defer close(served)
			if err := srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.logger.Error("metrics server", "err", err)
			}
		}()
		a.logger.Info("serving metrics", "addr", "http://"+a.ln.Addr().String()+"/metrics")
	}
	stopPub := make(chan struct{})
	pubDone := make(chan bool, 1)
	go func() { pubDone <- a.pub.run(stopPub, a.opts.FlushTimeout) }()
	if a.file != nil {
		goBg(a.file.run)
	}
	if a.feed != nil {
		goBg(a.feed.run)
	}
	goBg(a.heartbeat)
	goBg(a.commands)

	a.reconcile(ctx)

	// Shutdown, in order.
	a.stopAll()
	stopBg()
	bg.Wait() // heartbeat, commands and sources have stopped; metrics still served
	close(stopPub)
	flushed := <-pubDone
	hctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if err := a.bus.PutProbeStatus(hctx, a.status(bus.ProbeStopped)); err != nil {
		a.logger.Debug("final heartbeat not written", "err", err)
	}
	if err := a.bus.DeleteSchedule(hctx, a.opts.ID); err != nil {
		a.logger.Debug("schedule not withdrawn", "err", err)
	}
	cancel()
	err := a.spool.Close()
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
		<-served
	}
	a.logger.Info("probe agent stopped", "flushed", flushed, "spooled", a.spool.Depth(), "spool_dropped", a.spool.Dropped(),
		"spool_corrupt", a.spool.Corrupt(), "spool_replayed", a.spool.Replayed())
	return err
}

// reconcile keeps the running probings equal to the plan, re-planning at
// every change of the plan's inputs and whenever the schedule changes.
func (a *Agent) reconcile(ctx context.Context) {
	var stopping sync.WaitGroup
	defer stopping.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := a.now()
		sessions := a.store.sessions(now)
		a.metrics.sessions.Set(float64(len(sessions)))
		desired := Desired(now, sessions, a.policy)

		a.mu.Lock()
		running := make(map[string]Assignment, len(a.running))
		for k, r := range a.running {
			running[k] = r.a
		}
		a.mu.Unlock()
		start, stop := diff(running, desired)
		for _, k := range stop {
			a.mu.Lock()
			r := a.running[k]
			delete(a.running, k)
			a.mu.Unlock()
			stopping.Add(1)
			go func() { defer stopping.Done(); r.stop(a.logger) }()
		}
		for _, as := range start {
			a.mu.Lock()
			a.runSeq++
			seq := a.runSeq
			a.mu.Unlock()
			r := a.env.startRunner(ctx, as, a.rooms[as.Room], seq)
			a.mu.Lock()
			a.running[as.Key] = r
			a.mu.Unlock()
		}

		wait := time.Hour
		if next := NextChange(now, sessions, a.policy); !next.IsZero() {
			wait = min(wait, next.Sub(a.now()))
		}
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-a.store.changed:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// stopAll stops every running probing and waits for them.
func (a *Agent) stopAll() {
	a.mu.Lock()
	rs := slices.Collect(maps.Values(a.running))
	clear(a.running)
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() { defer wg.Done(); r.stop(a.logger) }()
	}
	wg.Wait()
}
