package health

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// job is one configured check of one server.
type job struct {
	server string
	name   string
	check  config.HealthCheck
	fn     CheckFunc
}

// Runner runs every health check of a city at its interval.
type Runner struct {
	jobs   []job
	env    Env
	logger *slog.Logger
}

// RunnerOptions configure a Runner; every field has a default.
type RunnerOptions struct {
	// Client makes the HTTP requests; default a client that keeps
	// connections alive and does not use a proxy.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// NewRunner prepares the checks of every server in the city. A check whose
// type has no collector is an error (a configuration validated by
// internal/config never has one).
func NewRunner(city *config.Config, opts RunnerOptions) (*Runner, error) {
	if opts.Client == nil {
		opts.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	kinds := Kinds()
	r := &Runner{
		env:    Env{Client: opts.Client, Dialer: &net.Dialer{}, Now: opts.Now},
		logger: opts.Logger.With("component", "health"),
	}
	for _, s := range city.Servers {
		for i, c := range s.Health {
			fn, ok := kinds[c.Type]
			if !ok {
				return nil, fmt.Errorf("servers %s health[%d]: no collector for type %q", s.ID, i, c.Type)
			}
			r.jobs = append(r.jobs, job{server: s.ID, name: CheckName(c.Type, i), check: c, fn: fn})
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

func (r *Runner) loop(ctx context.Context, j job, out func(Reading)) {
	t := time.NewTicker(j.check.Interval)
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
		case <-t.C:
		}
	}
}

// once runs one check now, bounded by its timeout.
func (r *Runner) once(ctx context.Context, j job) Reading {
	cctx, cancel := context.WithTimeout(ctx, j.check.Timeout)
	defer cancel()
	at := r.env.Now()
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
