package remedy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Options configure a Runner. City, Store and Redis are required.
type Options struct {
	City  *config.Config
	Store incident.Store
	Redis redis.UniversalClient
	// Prefix is the Redis key prefix ("bidwatch:").
	Prefix string
	Clock  clockwork.Clock
	Logger *slog.Logger
	// Escalate is called when a runbook did not fix an incident (nil:
	// the failure is only recorded).
	Escalate func(ctx context.Context, inc incident.Incident, reason string) error
	// Registry gets the runbook metrics (nil: none).
	Registry prometheus.Registerer
	// HTTPClient sends the HTTP steps (nil: http.DefaultClient; each step
	// has its own timeout).
	HTTPClient *http.Client
	// Poll is how often verification reads the incident (0: a second).
	Poll time.Duration
}

// Errors RunNow returns.
var (
	// ErrRefused: the guardrails refused the run (the error says why).
	ErrRefused = errors.New("refused")
	// ErrInactive: the incident is not open any more.
	ErrInactive = errors.New("incident is not active")
)

// Runner runs runbooks for incidents. Only the leader runs one (Run).
type Runner struct {
	city     *config.Config
	rm       *config.Remedy
	store    incident.Store
	events   func(ctx context.Context, from string) <-chan incident.Event
	rdb      redis.UniversalClient
	prefix   string
	clock    clockwork.Clock
	log      *slog.Logger
	escalate func(ctx context.Context, inc incident.Incident, reason string) error
	env      Env
	states   *States
	attempts *Attempts
	limiter  *redis_rate.Limiter
	m        *metrics
	poll     time.Duration
}

// New prepares a Runner.
func New(o Options) (*Runner, error) {
	if o.City == nil || o.Store == nil || o.Redis == nil {
		return nil, errors.New("remedy: City, Store and Redis are required")
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	r := &Runner{
		city: o.City, rm: &o.City.Remedy, store: o.Store, rdb: o.Redis, prefix: o.Prefix, clock: o.Clock,
		log: o.Logger.With("component", "remedy"), escalate: o.Escalate,
		env:      Env{HTTP: o.HTTPClient, Clock: o.Clock},
		states:   NewStates(o.Redis, o.Prefix),
		attempts: NewAttempts(o.Redis, o.Prefix),
		limiter:  redis_rate.NewLimiter(o.Redis),
		poll:     cmpOr(o.Poll, time.Second),
	}
	if s, ok := o.Store.(interface {
		Events(ctx context.Context, from string) <-chan incident.Event
	}); ok {
		r.events = s.Events
	} else {
		r.events = incident.NewRedisStore(o.Redis, o.Prefix, o.City.Watchdog.Incidents).Events
	}
	if o.Registry != nil {
		m, err := newMetrics(o.Registry)
		if err != nil {
			return nil, fmt.Errorf("remedy metrics: %w", err)
		}
		r.m = m
	}
	return r, nil
}

func (r *Runner) key(s string) string { return r.prefix + s }

// Run runs runbooks until ctx ends: it takes over the attempts a former
// leader left unfinished, then follows the incident events from where the
// last leader stopped (from now on, the first time). An incident opened,
// reopened or whose cause changed, still open or acknowledged, gets the
// first runbook that matches it. The steps and verification run in their
// own goroutines; Run returns once they have stopped, leaving an attempt
// cut short for the next leader.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	r.refreshGauges(ctx)
	from, err := r.rdb.Get(ctx, r.key(keyCursor)).Result()
	if err != nil {
		from = "$"
	}
	events := r.events(ctx, from)
	r.recoverAll(ctx, &wg)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			r.handle(ctx, ev, &wg)
			if err := r.rdb.Set(ctx, r.key(keyCursor), ev.StreamID, 0).Err(); err != nil && ctx.Err() == nil {
				r.log.Warn("save the events cursor", "err", err)
			}
		}
	}
}

// handle starts the runbook for an incident event, if any.
func (r *Runner) handle(ctx context.Context, ev incident.Event, wg *sync.WaitGroup) {
	switch ev.Kind {
	case incident.EventOpened, incident.EventReopened, incident.EventCause:
	default:
		return
	}
	inc, err := r.store.Get(ctx, ev.Incident.ID)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("read incident", "incident", ev.Incident.ID, "err", err)
		}
		return
	}
	if inc.State != incident.StateOpen && inc.State != incident.StateAcknowledged {
		return
	}
	rb, ok := Select(r.rm.Runbooks, &inc, r.city)
	if !ok {
		return
	}
	a, err := r.begin(ctx, &inc, rb, r.attempts.AttemptKey(inc.ID, rb.Name, inc.Reopens), "", r.rm.DryRun)
	switch {
	case errors.Is(err, ErrTaken):
		return // handled before (by this leader or an earlier one)
	case err != nil:
		if ctx.Err() == nil {
			r.log.Warn("start runbook", "runbook", rb.Name, "incident", inc.ID, "err", err)
		}
		return
	case a.State != AttemptRunning:
		return
	}
	d := DataOf(&inc, r.city, rb)
	wg.Go(func() { r.execute(ctx, a, rb, d) })
}

// begin applies the guardrails and takes the attempt: it returns the
// attempt, running, or refused or a dry run (recorded, and ended).
func (r *Runner) begin(ctx context.Context, inc *incident.Incident, rb *config.Runbook, key, by string, dryRun bool) (*Attempt, error) {
	now := r.clock.Now()
	st, err := r.states.Get(ctx, rb.Name)
	if err != nil {
		return nil, err
	}
	target := inc.Key
	if target == "" {
		target = inc.Cause.Key(inc.Subject)
	}
	last, err := r.states.LastRun(ctx, target)
	if err != nil {
		return nil, err
	}
	freeze, _ := InFreeze(r.rm.Freeze, inc.Place.Rooms, inc.Place.SubCenters, now, r.city.Dispatch.Location())
	dec := Decide(GuardInput{Runbook: rb, Now: now, State: st, LastRun: last, Target: target, Freeze: freeze, DryRun: dryRun, Manual: by != ""})
	a := &Attempt{Runbook: rb.Name, Incident: inc.ID, Spell: inc.Reopens, Target: target, By: by, Started: now, Key: key}
	switch dec.Verdict {
	case Run:
		a.State = AttemptRunning
	case DryRun:
		a.State = AttemptDryRun
	default:
		a.State, a.Reason = AttemptRefused, dec.Reason
	}
	for i := range rb.Steps {
		a.Steps = append(a.Steps, StepRecord{Name: rb.Steps[i].Name, Action: KindOf(&rb.Steps[i])})
	}
	if err := r.attempts.Create(ctx, a); err != nil {
		return nil, err
	}
	if a.State == AttemptRunning {
		res, err := r.limiter.Allow(ctx, r.key(keyRate+rb.Name), RateLimit(rb))
		if err != nil {
			// The lock is taken and the limit unknown: refuse rather than
			// act unbounded.
			a.State, a.Reason = AttemptRefused, "rate limit unknown: "+err.Error()
		} else if res.Allowed == 0 {
			a.State, a.Reason = AttemptRefused, fmt.Sprintf("rate limit: %d runs per hour reached (next allowed in %s)", maxPerHour(rb), res.RetryAfter.Round(time.Second))
		} else if ok, next, err := r.states.TakeHourSlot(ctx, rb.Name, now, maxPerHour(rb), key); err != nil {
			a.State, a.Reason = AttemptRefused, "rate limit unknown: "+err.Error()
		} else if !ok {
			a.State, a.Reason = AttemptRefused, fmt.Sprintf("rate limit: %d runs in the last hour (next allowed at %s)", maxPerHour(rb), next.Format(time.RFC3339))
		}
	}
	d := DataOf(inc, r.city, rb)
	switch a.State {
	case AttemptRunning:
		if err := r.states.Ran(ctx, target, now); err != nil {
			r.log.Warn("record the run on its target", "target", target, "err", err)
		}
		r.m.ran(rb.Name, float64(now.UnixMilli())/1000)
		who := ""
		if by != "" {
			who = ", asked by " + by
		}
		r.note(ctx, inc.ID, rb.Name, fmt.Sprintf("started on %s%s: %d steps, then verify within %s", target, who, len(rb.Steps), verifyWithin(rb)))
		r.log.Info("runbook started", "runbook", rb.Name, "incident", inc.ID, "target", target, "by", by)
		return a, nil
	case AttemptDryRun:
		r.note(ctx, inc.ID, rb.Name, "dry run, nothing done; would run: "+plan(rb, d))
	case AttemptRefused:
		r.note(ctx, inc.ID, rb.Name, "refused: "+a.Reason)
		r.log.Info("runbook refused", "runbook", rb.Name, "incident", inc.ID, "reason", a.Reason)
	}
	a.Ended = now
	r.finished(ctx, a)
	if err := r.attempts.Save(ctx, a); err != nil {
		return a, err
	}
	return a, nil
}

// plan says what a runbook would do, in one line.
func plan(rb *config.Runbook, d Data) string {
	parts := make([]string, 0, len(rb.Steps)+1)
	for i := range rb.Steps {
		parts = append(parts, fmt.Sprintf("%d. %s: %s", i+1, rb.Steps[i].Name, Describe(&rb.Steps[i], d)))
	}
	parts = append(parts, fmt.Sprintf("then verify within %s", verifyWithin(rb)))
	return strings.Join(parts, "; ")
}

// execute runs an attempt's steps, each written before it runs and after,
// then verifies. A step that fails ends the steps: the attempt failed. When
// ctx ends mid-way the record is left as it is, for the next leader.
func (r *Runner) execute(ctx context.Context, a *Attempt, rb *config.Runbook, d Data) {
	for i := range rb.Steps {
		st := &rb.Steps[i]
		a.Steps[i].Started = r.clock.Now()
		if err := r.attempts.Save(ctx, a); err != nil {
			r.log.Warn("write a step ahead", "runbook", rb.Name, "incident", a.Incident, "step", st.Name, "err", err)
			return // not run: the record must say a step may have begun
		}
		out, err := RunStep(ctx, r.env, st, d)
		if ctx.Err() != nil {
			return
		}
		now := r.clock.Now()
		s := &a.Steps[i]
		s.Ended, s.OK, s.Output = now, err == nil, out
		if err != nil && out == "" {
			s.Output = err.Error()
		}
		_ = r.attempts.Save(ctx, a)
		result := "ok"
		if err != nil {
			result = "failed: " + err.Error()
		}
		r.note(ctx, a.Incident, rb.Name, fmt.Sprintf("step %d/%d %s: %s → %s (%s)%s", i+1, len(rb.Steps), st.Name, Describe(st, d), result,
			now.Sub(s.Started).Round(time.Millisecond), outputSuffix(out)))
		if err != nil {
			r.fail(ctx, a, rb, fmt.Sprintf("step %s failed: %v", st.Name, err))
			return
		}
	}
	a.State, a.VerifyBy = AttemptVerifying, r.clock.Now().Add(verifyWithin(rb))
	if err := r.attempts.Save(ctx, a); err != nil {
		r.log.Warn("save attempt", "key", a.Key, "err", err)
	}
	r.verify(ctx, a, rb)
}

func outputSuffix(out string) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return ""
	}
	const short = 300 // the timeline shows the start; the attempt keeps 2 KB
	if len(out) > short {
		out = truncateTo(out, short)
	}
	return ": " + out
}

// note writes a line in an incident's timeline, as the runbook.
func (r *Runner) note(ctx context.Context, id, runbook, text string) {
	now := r.clock.Now()
	_, err := r.store.Change(ctx, id, EventRemedy, func(inc incident.Incident) (incident.Incident, error) {
		inc.Log(now, Actor(runbook), KindRemedy, text)
		return inc, nil
	})
	if err != nil && !errors.Is(err, incident.ErrFrozen) && ctx.Err() == nil {
		r.log.Warn("write the timeline", "incident", id, "err", err)
	}
}

// The timeline entries' and events' kind, and the actor a runbook acts as.
const (
	KindRemedy  = "remedy"
	EventRemedy = "remedy"
)

// Actor is who a runbook's entries are recorded as: "runbook <name>".
func Actor(runbook string) string { return "runbook " + runbook }

// finished counts an ended attempt and adds it to its runbook's last runs.
func (r *Runner) finished(ctx context.Context, a *Attempt) {
	r.m.run(a.Runbook, string(a.State))
	if err := r.states.Record(ctx, a.Runbook, RunRecord{Incident: a.Incident, At: a.Started, Result: string(a.State), Reason: a.Reason}); err != nil && ctx.Err() == nil {
		r.log.Warn("record the run", "runbook", a.Runbook, "err", err)
	}
}
