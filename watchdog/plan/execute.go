package plan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Executor carries a plan's actions out against an incident store. The
// leader runs one on Redis; `bidwatch watchdog test` on memory. It is not
// safe for concurrent use.
type Executor struct {
	Store  incident.Store
	Policy Policy
	// FiguresEvery: an Update that only carries new figures is written at
	// most this often per incident; 0 writes every one.
	FiguresEvery time.Duration
	// Recheck runs servers' health checks now; nil runs none.
	Recheck func(servers []string)
	// Logger defaults to discarding.
	Logger  *slog.Logger
	written map[string]time.Time
}

// Result is what carrying one action out did.
type Result struct {
	Action   Action
	Incident incident.Incident
	// Done is false when there was nothing to write (or an update was
	// held back); Err says why an action failed.
	Done bool
	Err  error
}

// Execute carries the actions out in order, at now, and returns what each
// did. An action that fails does not stop the others: the next plan tries
// again.
func (x *Executor) Execute(ctx context.Context, actions []Action, now time.Time) []Result {
	if x.written == nil {
		x.written = map[string]time.Time{}
	}
	log := x.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, pol := x.Store, x.Policy.Incidents
	out := make([]Result, 0, len(actions))
	for _, a := range actions {
		r := Result{Action: a}
		change := func(id, event string, fn func(incident.Incident) (incident.Incident, error)) {
			r.Incident, r.Err = s.Change(ctx, id, event, fn)
			r.Done = r.Err == nil
			if errors.Is(r.Err, incident.ErrNoChange) {
				r.Err = nil
			}
		}
		switch a.Kind {
		case Open:
			var opened bool
			r.Incident, opened, r.Err = s.Open(ctx, *a.Problem, now)
			r.Done = opened
		case Update:
			if !a.Material && x.FiguresEvery > 0 && now.Sub(x.written[a.Incident]) < x.FiguresEvery {
				break
			}
			change(a.Incident, incident.EventUpdated, func(inc incident.Incident) (incident.Incident, error) {
				out, o := incident.Observe(inc, *a.Problem, now, pol)
				if o == incident.Unchanged {
					return inc, incident.ErrNoChange
				}
				return out, nil
			})
		case Retarget:
			change(a.Incident, incident.EventCause, func(inc incident.Incident) (incident.Incident, error) {
				if !inc.State.Active() {
					return inc, fmt.Errorf("retarget %s: it is %s: %w", inc.ID, inc.State, incident.ErrTransition)
				}
				return incident.Retarget(inc, *a.Problem, now, pol), nil
			})
		case Merge:
			r = x.merge(ctx, a, now)
		case Resolve:
			r.Incident, r.Err = s.Act(ctx, a.Incident, incident.Action{Kind: incident.ActResolve, Actor: incident.Actor, At: now, ResolvedAt: a.At, Text: a.Text})
			r.Done = r.Err == nil
		case Reopen:
			change(a.Incident, incident.EventReopened, func(inc incident.Incident) (incident.Incident, error) {
				return incident.Reopen(inc, *a.Problem, now, pol)
			})
		case Breach:
			r.Incident, r.Err = s.Act(ctx, a.Incident, incident.Action{Kind: incident.ActBreach, Actor: incident.Actor, At: now})
			r.Done = r.Err == nil
		case Unobserved:
			change(a.Incident, incident.EventNote, func(inc incident.Incident) (incident.Incident, error) {
				return incident.MarkUnobserved(inc, now, a.Text)
			})
		case Recheck:
			if x.Recheck != nil {
				x.Recheck(a.Servers)
				r.Done = true
			}
		default:
			r.Err = fmt.Errorf("unknown action %q", a.Kind)
		}
		if r.Done && r.Incident.ID != "" {
			x.written[r.Incident.ID] = now
		}
		if r.Err != nil && ctx.Err() == nil {
			log.Warn("incident action failed", "action", a.String(), "err", r.Err)
		}
		out = append(out, r)
	}
	for id, t := range x.written {
		if now.Sub(t) > time.Hour {
			delete(x.written, id)
		}
	}
	return out
}

// merge takes a.Incident into a.Into: first the incident it goes into
// (which gains its place, figures and timeline), then the merged one.
func (x *Executor) merge(ctx context.Context, a Action, now time.Time) Result {
	r := Result{Action: a}
	child, err := x.Store.Get(ctx, a.Incident)
	if err != nil {
		r.Err = err
		return r
	}
	parent, err := x.Store.Change(ctx, a.Into, incident.EventMergedIn, func(p incident.Incident) (incident.Incident, error) {
		if slices.Contains(p.MergedFrom, child.ID) {
			return p, incident.ErrNoChange
		}
		_, out, err := incident.Merge(child, p, now, a.Text)
		return out, err
	})
	if err != nil && !errors.Is(err, incident.ErrNoChange) {
		r.Err = err
		return r
	}
	r.Incident, r.Err = x.Store.Change(ctx, a.Incident, incident.EventMerged, func(c incident.Incident) (incident.Incident, error) {
		if c.State == incident.StateMerged && c.MergedInto == a.Into {
			return c, incident.ErrNoChange // merged already
		}
		out, _, err := incident.Merge(c, parent, now, a.Text)
		return out, err
	})
	r.Done = r.Err == nil
	if errors.Is(r.Err, incident.ErrNoChange) {
		r.Err = nil
	}
	return r
}
