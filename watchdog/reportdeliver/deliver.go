package reportdeliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/dispatch"
	"github.com/bidwatch/bidwatch/watchdog/report"
)

// Key names under the bus prefix (docs/wire-format.md).
const (
	// KeySent prefixes a delivery's once-only marker: "report:sent:" +
	// Job.Marker(). "building <time>" while a leader makes it (expires
	// after BuildLease), "sent <time> <file id>" or "empty <time>" after.
	KeySent = "report:sent:"
	// KeyFile prefixes a report's HTML: "report:file:" + Job.FileID().
	KeyFile = "report:file:"
	// KeyFiles is a sorted set of the report files kept, score = the
	// period's end (Unix ms).
	KeyFiles = "report:files"
)

// Defaults.
const (
	// DefaultTick is how often the schedule is looked at.
	DefaultTick = 30 * time.Second
	// DefaultRetryAfter is how long a report that could not be made waits
	// before it is tried again.
	DefaultRetryAfter = 5 * time.Minute
	// BuildLease bounds how long a leader may take to make a report
	// before another may try.
	BuildLease = 10 * time.Minute
)

// Options configure New. City and Redis are required.
type Options struct {
	// City is the configuration: reports (deliver, timezone, retention),
	// dispatch (retry), console.public_url.
	City   *config.Config
	Redis  redis.UniversalClient
	Prefix string
	// Sources returns what the report of a period is built from
	// (reportsrc.New: roll-ups, incidents, the evidence head, the drill
	// runs whose incidents it keeps apart); required.
	Sources func(ctx context.Context, p report.Period) (report.Sources, error)
	// Clock defaults to the real one; Logger to discarding.
	Clock  clockwork.Clock
	Logger *slog.Logger
	// Tick and RetryAfter default to DefaultTick and DefaultRetryAfter.
	Tick       time.Duration
	RetryAfter time.Duration
}

// Deliverer sends the scheduled reports while Run runs (on the leader).
type Deliverer struct {
	opts   Options
	outbox *dispatch.Outbox
	log    *slog.Logger
	// last is the period sent per slot; retry when a failed one may be
	// tried again. Only Run's goroutine touches them.
	last  map[string]string
	retry map[string]time.Time
}

// New returns a deliverer; nil when nothing is to be delivered
// (reports.deliver is empty).
func New(opts Options) (*Deliverer, error) {
	if opts.City == nil || opts.Redis == nil || opts.Sources == nil {
		return nil, errors.New("reportdeliver: City, Redis and Sources are required")
	}
	if len(opts.City.Reports.Deliver) == 0 {
		return nil, nil
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Tick <= 0 {
		opts.Tick = DefaultTick
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	return &Deliverer{
		opts:   opts,
		outbox: dispatch.NewOutbox(opts.Redis, opts.Prefix, opts.City.Dispatch.Retry),
		log:    opts.Logger.With("component", "reportdeliver"),
		last:   map[string]string{},
		retry:  map[string]time.Time{},
	}, nil
}

// Run delivers what is due, now and every tick, until ctx ends.
func (d *Deliverer) Run(ctx context.Context) {
	t := d.opts.Clock.NewTicker(d.opts.Tick)
	defer t.Stop()
	for {
		d.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
	}
}

// Outcome is what Check did with a job.
type Outcome string

// The outcomes.
const (
	// Queued: the report was made and its message queued.
	Queued Outcome = "queued"
	// Empty: the period had nothing to report; nothing was sent.
	Empty Outcome = "empty"
	// Done: another leader (or an earlier run) has sent it.
	Done Outcome = "done"
	// Busy: another leader is making it now.
	Busy Outcome = "busy"
	// Failed: it could not be made or queued; tried again later.
	Failed Outcome = "failed"
	// Waiting: it failed recently and waits to be tried again.
	Waiting Outcome = "waiting"
)

// Result is one job and what became of it.
type Result struct {
	Job     Job
	Outcome Outcome
	FileID  string
	Err     error
}

// Check delivers the reports due now, once each.
func (d *Deliverer) Check(ctx context.Context) []Result {
	now := d.opts.Clock.Now()
	var out []Result
	for _, j := range Due(now, d.opts.City.Reports.Deliver, d.opts.City.Reports.Location(), d.last) {
		if at, ok := d.retry[j.Marker()]; ok && now.Before(at) {
			out = append(out, Result{Job: j, Outcome: Waiting})
			continue
		}
		r := d.deliver(ctx, j, now)
		switch r.Outcome {
		case Queued, Empty, Done:
			d.last[j.Slot()] = j.Period.ID()
			delete(d.retry, j.Marker())
		case Failed:
			d.retry[j.Marker()] = now.Add(d.opts.RetryAfter)
			if ctx.Err() == nil {
				d.log.Warn("scheduled report not sent: trying again later", "period", j.Period.ID(), "kind", j.Period.Kind, "scope", j.Scope, "err", r.Err, "retry_at", now.Add(d.opts.RetryAfter))
			}
		}
		out = append(out, r)
	}
	return out
}

func (d *Deliverer) key(s string) string { return d.opts.Prefix + s }

// deliver makes and queues one report, once: the marker is taken first,
// and given back when the report could not be made.
func (d *Deliverer) deliver(ctx context.Context, j Job, now time.Time) Result {
	res := Result{Job: j, FileID: j.FileID()}
	marker := d.key(KeySent + j.Marker())
	ok, err := d.opts.Redis.SetNX(ctx, marker, "building "+now.UTC().Format(time.RFC3339), BuildLease).Result()
	if err != nil {
		res.Outcome, res.Err = Failed, fmt.Errorf("take the marker: %w", err)
		return res
	}
	if !ok {
		v, _ := d.opts.Redis.Get(ctx, marker).Result()
		res.Outcome = Done
		if strings.HasPrefix(v, "building") {
			res.Outcome = Busy
		}
		return res
	}
	outcome, err := d.make(ctx, j, now)
	if err != nil {
		// Given back, so this leader or the next tries again.
		d.opts.Redis.Del(context.WithoutCancel(ctx), marker)
		res.Outcome, res.Err = Failed, err
		return res
	}
	value := "sent " + now.UTC().Format(time.RFC3339) + " " + res.FileID
	if outcome == Empty {
		value = "empty " + now.UTC().Format(time.RFC3339)
	}
	if err := d.opts.Redis.Set(ctx, marker, value, markerTTL(j.Period)).Err(); err != nil {
		// Queued already: a later leader finds the building marker expire
		// and queues the same message id, which the outbox takes once.
		d.log.Warn("mark a scheduled report sent", "marker", marker, "err", err)
	}
	res.Outcome = outcome
	return res
}

// markerTTL keeps a marker while its period can still be the latest of
// its kind, and a week more.
func markerTTL(p report.Period) time.Duration {
	return 2*p.End.Sub(p.Start) + 7*24*time.Hour
}

// make builds the report, keeps its HTML and queues its message.
func (d *Deliverer) make(ctx context.Context, j Job, now time.Time) (Outcome, error) {
	src, err := d.opts.Sources(ctx, j.Period)
	if err != nil {
		return Failed, fmt.Errorf("the sources of the %s report of %s: %w", j.Period.Kind, j.Period.ID(), err)
	}
	rep, err := report.Build(ctx, src, report.Request{Period: j.Period, Scope: j.Scope, Now: now})
	if err != nil {
		return Failed, fmt.Errorf("build the %s report of %s for %s: %w", j.Period.Kind, j.Period.ID(), j.Scope, err)
	}
	if rep.Empty {
		d.log.Info("scheduled report: nothing to report", "kind", j.Period.Kind, "period", j.Period.ID(), "scope", j.Scope, "notice", rep.Notice)
		return Empty, nil
	}
	var html bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		return Failed, fmt.Errorf("write the report's HTML: %w", err)
	}
	id := j.FileID()
	pipe := d.opts.Redis.TxPipeline()
	pipe.Set(ctx, d.key(KeyFile+id), html.Bytes(), d.opts.City.Reports.RollupRetention)
	pipe.ZAdd(ctx, d.key(KeyFiles), redis.Z{Score: float64(j.Period.End.UnixMilli()), Member: id})
	pipe.ZRemRangeByScore(ctx, d.key(KeyFiles), "-inf", fmt.Sprint(now.Add(-d.opts.City.Reports.RollupRetention).UnixMilli()))
	if _, err := pipe.Exec(ctx); err != nil {
		return Failed, fmt.Errorf("keep the report's HTML: %w", err)
	}
	env := dispatch.Envelope{Message: *Message(rep, j, html.Bytes(), d.opts.City.Console.PublicURL, now), Receiver: receiver(d.opts.City, j.Scope)}
	if err := d.outbox.Enqueue(ctx, env, j.Channels, now); err != nil {
		return Failed, err
	}
	d.log.Info("scheduled report queued", "kind", j.Period.Kind, "period", j.Period.ID(), "scope", j.Scope, "channels", j.Channels, "file", id, "bytes", html.Len())
	return Queued, nil
}

// receiver is who a report of a scope is for: the sub-center's duty (a
// room's hosting sub-center), or the center's for the city.
func receiver(c *config.Config, scope string) dispatch.Receiver {
	kind, id, _ := strings.Cut(scope, ":")
	switch kind {
	case report.ScopeSubCenter:
		return dispatch.Receiver{SubCenter: id}
	case report.ScopeRoom:
		if r, ok := c.Room(id); ok {
			return dispatch.Receiver{SubCenter: r.SubCenter}
		}
	}
	if sc, ok := c.Center(); ok {
		return dispatch.Receiver{SubCenter: sc.ID}
	}
	return dispatch.Receiver{SubCenter: "city"}
}
