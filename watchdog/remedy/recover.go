package remedy

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// recoverAll takes over the attempts a former leader left unfinished. A
// step it had begun and not ended is never run again: it is marked
// interrupted, the steps after it are skipped, and the attempt goes on to
// verification (the probes tell whether the step took effect). An attempt
// left verifying is verified until its own deadline.
func (r *Runner) recoverAll(ctx context.Context, wg *sync.WaitGroup) {
	as, err := r.attempts.Unfinished(ctx)
	if err != nil && ctx.Err() == nil {
		r.log.Warn("find unfinished attempts", "err", err)
	}
	for i := range as {
		a := &as[i]
		rb, ok := r.rm.Runbook(a.Runbook)
		if !ok {
			a.State, a.Ended, a.Reason = AttemptInterrupted, r.clock.Now(), "runbook no longer in the config"
			r.note(ctx, a.Incident, a.Runbook, "interrupted by a leader change; not verified: "+a.Reason)
			r.finished(ctx, a)
			_ = r.attempts.Save(ctx, a)
			continue
		}
		if a.State == AttemptRunning {
			r.interrupt(ctx, a, rb.Name, verifyWithin(rb))
		}
		wg.Go(func() { r.verify(ctx, a, rb) })
	}
}

// interrupt closes a running attempt's cut step and moves it to
// verification.
func (r *Runner) interrupt(ctx context.Context, a *Attempt, runbook string, within time.Duration) {
	now := r.clock.Now()
	what := "before its first step"
	skipped := 0
	for i := range a.Steps {
		s := &a.Steps[i]
		switch {
		case !s.Started.IsZero() && s.Ended.IsZero():
			s.Ended, s.OK, s.Interrupted = now, false, true
			s.Output = "interrupted: the leader running it stopped; not run again"
			what = fmt.Sprintf("in step %d/%d %s", i+1, len(a.Steps), s.Name)
		case s.Started.IsZero():
			skipped++
		default:
			what = fmt.Sprintf("after step %d/%d %s", i+1, len(a.Steps), s.Name)
		}
	}
	a.State, a.VerifyBy = AttemptVerifying, now.Add(within)
	if err := r.attempts.Save(ctx, a); err != nil {
		r.log.Warn("save attempt", "key", a.Key, "err", err)
	}
	r.m.run(runbook, ResultInterrupted)
	r.note(ctx, a.Incident, runbook, fmt.Sprintf("interrupted %s by a leader change: not run again, %d later steps skipped; verifying within %s", what, skipped, within))
	r.log.Warn("runbook attempt interrupted", "runbook", runbook, "incident", a.Incident, "at", what)
}
