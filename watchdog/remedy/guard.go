package remedy

import (
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/bidwatch/bidwatch/internal/config"
)

// InFreeze returns the name of the first freeze window that covers the
// incident's rooms or sub-centers at now, clock times read in loc
// (dispatch.time_zone). A window that names no room nor sub-center covers
// everything; the time of day is config.FreezeWindow.Active's: one that
// crosses midnight (22:00 to 06:00) belongs to the day it starts on, To may
// be 24:00, and a window written wrong (validation rejects it) covers
// nothing.
func InFreeze(windows []config.FreezeWindow, rooms, subCenters []string, now time.Time, loc *time.Location) (string, bool) {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	for i := range windows {
		w := &windows[i]
		if len(w.Rooms)+len(w.SubCenters) > 0 && !anyIn(rooms, w.Rooms) && !anyIn(subCenters, w.SubCenters) {
			continue
		}
		if w.Active(now) {
			return w.Name, true
		}
	}
	return "", false
}

// Verdict is what the guardrails decide.
type Verdict string

// The verdicts.
const (
	Run     Verdict = "run"
	DryRun  Verdict = "dry_run"
	Refused Verdict = "refused"
)

// GuardInput is what the guardrails look at.
type GuardInput struct {
	Runbook *config.Runbook
	Now     time.Time
	// State is the runbook's state in Redis.
	State RunbookState
	// LastRun is when a runbook last ran on the incident's target (zero:
	// never, or long ago); Target names it.
	LastRun time.Time
	Target  string
	// Freeze names the freeze window in force ("" for none).
	Freeze string
	// DryRun is the global switch (or a dry run asked for).
	DryRun bool
	// Manual is a person's run (RunNow): the cooldown does not apply.
	Manual bool
}

// Decision is the guardrails' verdict, and for a refusal, why.
type Decision struct {
	Verdict Verdict
	Reason  string
	// Until is when a cooldown ends.
	Until time.Time
}

// Decide applies the guardrails, in order: enabled in the config, not
// suspended, no freeze window (unless the runbook allows it), past the
// cooldown on its target; then the dry-run switch. The hourly limit is
// checked afterwards, in Redis, only for a run.
func Decide(in GuardInput) Decision {
	rb := in.Runbook
	refuse := func(why string) Decision { return Decision{Verdict: Refused, Reason: why} }
	switch {
	case !rb.On():
		return refuse("runbook " + rb.Name + " is disabled in the config")
	case in.State.Suspended:
		return refuse(fmt.Sprintf("runbook %s is suspended (%s): re-enable it with `bidwatch runbooks enable %s`", rb.Name, in.State.Reason, rb.Name))
	case in.Freeze != "" && !rb.AllowInFreeze:
		return refuse("freeze window " + in.Freeze)
	}
	if !in.Manual && !in.LastRun.IsZero() {
		if until := in.LastRun.Add(cooldown(rb)); in.Now.Before(until) {
			d := refuse(fmt.Sprintf("cooldown on %s until %s (last run %s)", in.Target, until.Format(time.RFC3339), in.LastRun.Format(time.RFC3339)))
			d.Until = until
			return d
		}
	}
	if in.DryRun {
		return Decision{Verdict: DryRun, Reason: "dry run"}
	}
	return Decision{Verdict: Run}
}

// RateLimit is a runbook's hourly limit for redis_rate.
func RateLimit(rb *config.Runbook) redis_rate.Limit {
	n := maxPerHour(rb)
	return redis_rate.Limit{Rate: n, Burst: n, Period: time.Hour}
}

// The runbook's settings with the defaults where zero (validation sets them;
// this keeps a Runner safe on a config built in code).
func cooldown(rb *config.Runbook) time.Duration {
	return cmpOr(rb.Cooldown, config.DefaultRunbookCooldown)
}

func verifyWithin(rb *config.Runbook) time.Duration {
	return cmpOr(rb.VerifyWithin, config.DefaultRunbookVerifyWithin)
}

func maxPerHour(rb *config.Runbook) int {
	return cmpOr(rb.MaxPerHour, config.DefaultRunbookMaxPerHour)
}

func stepTimeout(st *config.RunbookStep) time.Duration {
	return cmpOr(st.Timeout, config.DefaultRunbookStepTimeout)
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
