package remedy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Gone reports whether the probes see an incident's symptoms gone: it is
// clearing (ClearingSince set) or resolved.
func Gone(inc *incident.Incident) bool {
	return !inc.ClearingSince.IsZero() || inc.State == incident.StateResolved || inc.State == incident.StateSignedOff
}

// GoneFor reports whether the symptoms have stayed gone for hold by now:
// it is resolved, or has been clearing for at least hold. A fault that
// comes and goes (a gateway dropping its bidders every few seconds) clears
// for moments between its returns; a moment is not a fix.
func GoneFor(inc *incident.Incident, now time.Time, hold time.Duration) bool {
	if inc.State == incident.StateResolved || inc.State == incident.StateSignedOff {
		return true
	}
	return !inc.ClearingSince.IsZero() && now.Sub(inc.ClearingSince) >= hold
}

// maxHold is the longest the symptoms must stay gone to count as fixed.
const maxHold = 5 * time.Second

// holdOf is how long the symptoms must stay gone: half the shortest
// clear_after of the detection rules (so an incident is seen fixed before
// it resolves), at most maxHold.
func holdOf(d config.Detect) time.Duration {
	hold := maxHold
	for _, ca := range []time.Duration{d.Latency.ClearAfter, d.Stutter.ClearAfter, d.Dropout.ClearAfter} {
		if ca > 0 {
			hold = min(hold, ca/2)
		}
	}
	return hold
}

// verify reads the incident until the probes see its symptoms gone and
// staying gone (GoneFor), or until the attempt's VerifyBy: gone, the incident is marked mitigated;
// still there, the attempt failed. When ctx ends first the attempt is left
// verifying, for the next leader.
func (r *Runner) verify(ctx context.Context, a *Attempt, rb *config.Runbook) {
	for {
		inc, err := r.current(ctx, a.Incident)
		switch {
		case err == nil && GoneFor(&inc, r.clock.Now(), holdOf(r.city.Watchdog.Detect)):
			r.verified(ctx, a, rb, inc)
			return
		case errors.Is(err, incident.ErrNotFound):
			a.State, a.Ended, a.Reason = AttemptInterrupted, r.clock.Now(), "the incident is gone"
			r.finished(ctx, a)
			_ = r.attempts.Save(ctx, a)
			return
		case err != nil && ctx.Err() == nil:
			r.log.Warn("read incident to verify", "incident", a.Incident, "err", err)
		}
		if !r.clock.Now().Before(a.VerifyBy) {
			r.fail(ctx, a, rb, fmt.Sprintf("symptoms still there %s after the steps", verifyWithin(rb)))
			return
		}
		wait := min(r.poll, max(a.VerifyBy.Sub(r.clock.Now()), time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-r.clock.After(wait):
		}
	}
}

// current reads an incident, or the one it was merged into.
func (r *Runner) current(ctx context.Context, id string) (incident.Incident, error) {
	inc, err := r.store.Get(ctx, id)
	if err == nil && inc.State == incident.StateMerged && inc.MergedInto != "" {
		return r.store.Get(ctx, inc.MergedInto)
	}
	return inc, err
}

// verified ends an attempt that worked: the incident is marked mitigated
// (when it is still open or acknowledged) and the failures reset.
func (r *Runner) verified(ctx context.Context, a *Attempt, rb *config.Runbook, inc incident.Incident) {
	now := r.clock.Now()
	if err := r.states.Verified(ctx, rb.Name); err != nil {
		r.log.Warn("reset failures", "runbook", rb.Name, "err", err)
	}
	text := fmt.Sprintf("verified: the probes see the symptoms gone %s after the runbook started", now.Sub(a.Started).Round(time.Second))
	_, err := r.store.Act(ctx, inc.ID, incident.Action{Kind: incident.ActMitigate, Actor: Actor(rb.Name), At: now, Text: text})
	if err != nil {
		// Mitigate does not apply (resolved already, or mitigated by a
		// person): the verification is still recorded.
		r.note(ctx, a.Incident, rb.Name, fmt.Sprintf("%s (not marked mitigated: %v)", text, err))
	} else if inc.ID != a.Incident {
		r.note(ctx, a.Incident, rb.Name, text+" (in "+inc.ID+", which it was merged into)")
	}
	// The attempt ends last: whoever reads it ended sees the rest done.
	a.State, a.Ended = AttemptVerified, now
	r.finished(ctx, a)
	if err := r.attempts.Save(ctx, a); err != nil {
		r.log.Warn("save attempt", "key", a.Key, "err", err)
	}
	r.log.Info("runbook verified", "runbook", rb.Name, "incident", a.Incident)
}

// fail ends an attempt that did not work: recorded, escalated, counted;
// the second failure in a row suspends the runbook.
func (r *Runner) fail(ctx context.Context, a *Attempt, rb *config.Runbook, reason string) {
	now := r.clock.Now()
	escalated := "no escalation configured"
	if r.escalate != nil {
		inc, err := r.current(ctx, a.Incident)
		if err == nil {
			err = r.escalate(ctx, inc, fmt.Sprintf("runbook %s: %s", rb.Name, reason))
		}
		if err != nil {
			escalated = "escalation failed: " + err.Error()
		} else {
			escalated = "escalated"
		}
	}
	r.note(ctx, a.Incident, rb.Name, fmt.Sprintf("failed: %s; %s", reason, escalated))
	r.log.Warn("runbook failed", "runbook", rb.Name, "incident", a.Incident, "reason", reason)
	n, err := r.states.Failed(ctx, rb.Name)
	if err != nil {
		r.log.Warn("count failure", "runbook", rb.Name, "err", err)
	}
	if n >= suspendAfter {
		why := fmt.Sprintf("%d failed verifications in a row, the last on %s", n, a.Incident)
		if err := r.states.Suspend(ctx, rb.Name, why, now); err != nil {
			r.log.Warn("suspend runbook", "runbook", rb.Name, "err", err)
		} else {
			r.m.state(rb.Name, rb.On(), true)
			r.note(ctx, a.Incident, rb.Name, fmt.Sprintf("runbook %s suspended after %s: it runs again once a person re-enables it (bidwatch runbooks enable %s)", rb.Name, why, rb.Name))
			r.log.Warn("runbook suspended", "runbook", rb.Name, "reason", why)
		}
	}
	// The attempt ends last: whoever reads it ended sees the rest done.
	a.State, a.Ended, a.Reason = AttemptFailed, now, reason
	r.finished(ctx, a)
	if err := r.attempts.Save(ctx, a); err != nil {
		r.log.Warn("save attempt", "key", a.Key, "err", err)
	}
}

// suspendAfter failed verifications in a row suspend a runbook.
const suspendAfter = 2
