package health

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bidwatch/bidwatch/internal/config"
)

// job is one configured check of one server.
type job struct {
	server string
	name   string
	check  config.HealthCheck
	fn     CheckFunc
	// now asks for a run at once (a recheck); it holds at most one.
	now chan struct{}
	// began is when its latest run began (unix ns).
	began atomic.Int64
}

// recheckGap is the least time between a check's runs that a recheck asks
// for: rechecks are asked for at every evaluation while rooms wait for
// their servers' health.
const recheckGap = time.Second

// Runner runs every health check of a city at its interval, and at once
// when asked (Recheck).
type Runner struct {
	jobs   []*job
	env    Env
	clock  clockwork.Clock
	logger *slog.Logger
}

// RunnerOptions configure a Runner; every field has a default.
type RunnerOptions struct {
	// Client makes the HTTP requests; default a client that keeps
	// connections alive and does not use a proxy.
	Client *http.Client
	// Clock times the checks and stamps the readings; default the real
	// clock.
	Clock  clockwork.Clock
	Logger *slog.Logger
}

// NewRunner prepares the checks of every server in the city. A check whose
// type has no collector is an error (a configuration validated by
// internal/config never has one).
func NewRunner(city *config.Config, opts RunnerOptions) (*Runner, error) {
	if opts.Client == nil {
		opts.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}}
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	kinds := Kinds()
	r := &Runner{
		env:    Env{Client: opts.Client, Dialer: &net.Dialer{}, Now: opts.Clock.Now},
		clock:  opts.Clock,
		logger: opts.Logger.With("component", "health"),
	}
	for _, s := range city.Servers {
		for i, c := range s.Health {
			fn, ok := kinds[c.Type]
			if !ok {
				return nil, fmt.Errorf("servers %s health[%d]: no collector for type %q", s.ID, i, c.Type)
			}
			r.jobs = append(r.jobs, &job{server: s.ID, name: CheckName(c.Type, i), check: c, fn: fn, now: make(chan struct{}, 1)})
		}
	}
	return r, nil
}

// CheckName names a server's check by its type and its index in the
// server's health list: "http[0]".
func CheckName(kind string, i int) string { return fmt.Sprintf("%s[%d]", kind, i) }

// Checks is how many checks the Runner runs.
func (r *Runner) Checks() int { return len(r.jobs) }

// Run runs every check, the first time at once and then every interval,
// until ctx ends, and hands each reading to out, from the check's own
// goroutine: out must not block for long.
func (r *Runner) Run(ctx context.Context, out func(Reading)) {
	var wg sync.WaitGroup
	for _, j := range r.jobs {
		wg.Go(func() { r.loop(ctx, j, out) })
	}
	wg.Wait()
}

func (r *Runner) loop(ctx context.Context, j *job, out func(Reading)) {
	t := r.clock.NewTicker(j.check.Interval)
	defer t.Stop()
	for {
		rd := r.once(ctx, j)
		if ctx.Err() != nil {
			return
		}
		out(rd)
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		case <-j.now:
			// A recheck: the next regular run keeps its time.
		}
	}
}

// Recheck asks for every check of these servers to run at once, unless it
// ran less than a second ago (a request already waiting is not doubled).
// It does not block.
func (r *Runner) Recheck(servers []string) {
	now := r.clock.Now().UnixNano()
	for _, j := range r.jobs {
		if !slices.Contains(servers, j.server) || now-j.began.Load() < int64(recheckGap) {
			continue
		}
		select {
		case j.now <- struct{}{}:
		default:
		}
	}
}

// once runs one check now, bounded by its timeout.
func (r *Runner) once(ctx context.Context, j *job) Reading {
	cctx, cancel := context.WithTimeout(ctx, j.check.Timeout)
	defer cancel()
	at := r.env.Now()
	j.began.Store(at.UnixNano())
	rd := j.fn(cctx, &r.env, &j.check)
	rd.Server, rd.Check, rd.Kind, rd.At = j.server, j.name, j.check.Type, at
	rd.Target = j.check.URL
	if rd.Target == "" {
		rd.Target = j.check.Address
	}
	if !rd.OK && ctx.Err() == nil {
		r.logger.Debug("health check failed", "server", j.server, "check", j.name, "err", rd.Error)
	}
	return rd
}
