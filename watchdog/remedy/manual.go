package remedy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// RunNow runs a runbook on an incident at a person's request (`bidwatch
// runbooks run NAME --incident ID [--dry-run]`) and returns the attempt
// once it has ended (verification included). The runbook need not match
// the incident: the person chose it. The guardrails apply — disabled,
// suspended, freeze window, the hourly limit, the dry-run switch — except
// the cooldown, which is there to stop the watchdog repeating itself, not a
// person. Each call is a new attempt (remedy:attempt:<incident>:<runbook>:
// manual:<ms>). A refusal returns the attempt and an error wrapping
// ErrRefused. The attempt is recorded as asked by "bidwatch runbooks run".
func (r *Runner) RunNow(ctx context.Context, name, incidentID string, dryRun bool) (Attempt, error) {
	rb, ok := r.rm.Runbook(name)
	if !ok {
		return Attempt{}, fmt.Errorf("runbook %q: %w", name, ErrUnknownRunbook)
	}
	inc, err := r.store.Get(ctx, incidentID)
	if err != nil {
		return Attempt{}, err
	}
	if !inc.State.Active() {
		return Attempt{}, fmt.Errorf("%s is %s: %w", inc.ID, inc.State, ErrInactive)
	}
	const by = "bidwatch runbooks run"
	key := r.attempts.AttemptKey(inc.ID, rb.Name, inc.Reopens) + ":manual:" + strconv.FormatInt(r.clock.Now().UnixMilli(), 10)
	a, err := r.begin(ctx, &inc, rb, key, by, dryRun || r.rm.DryRun)
	if err != nil {
		return Attempt{}, err
	}
	switch a.State {
	case AttemptRefused:
		return *a, fmt.Errorf("runbook %s on %s: %w: %s", name, inc.ID, ErrRefused, a.Reason)
	case AttemptRunning:
		r.execute(ctx, a, rb, DataOf(&inc, r.city, rb))
	}
	return *a, ctx.Err()
}

// Enable re-enables a suspended runbook (`bidwatch runbooks enable NAME`).
func (r *Runner) Enable(ctx context.Context, name string) error {
	rb, ok := r.rm.Runbook(name)
	if !ok {
		return fmt.Errorf("runbook %q: %w", name, ErrUnknownRunbook)
	}
	if err := r.states.Enable(ctx, name); err != nil {
		return err
	}
	r.m.state(name, rb.On(), false)
	r.log.Info("runbook re-enabled", "runbook", name)
	return nil
}

// Status is a runbook as `bidwatch runbooks list` shows it: enabled in the
// config, and its state in Redis.
type Status struct {
	RunbookState
	Enabled bool `json:"enabled"`
}

// Runbooks returns every runbook in the config with its state.
func (r *Runner) Runbooks(ctx context.Context) ([]Status, error) {
	out := make([]Status, 0, len(r.rm.Runbooks))
	var errs []error
	for i := range r.rm.Runbooks {
		rb := &r.rm.Runbooks[i]
		st, err := r.states.Get(ctx, rb.Name)
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, Status{RunbookState: st, Enabled: rb.On()})
	}
	return out, errors.Join(errs...)
}

// refreshGauges sets the enabled and suspended gauges from the config and
// Redis.
func (r *Runner) refreshGauges(ctx context.Context) {
	if r.m == nil {
		return
	}
	for i := range r.rm.Runbooks {
		rb := &r.rm.Runbooks[i]
		st, err := r.states.Get(ctx, rb.Name)
		if err != nil {
			continue
		}
		r.m.state(rb.Name, rb.On(), st.Suspended)
	}
}
