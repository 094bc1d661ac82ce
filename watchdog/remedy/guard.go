package remedy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/bidwatch/bidwatch/internal/config"
)

// InFreeze returns the name of the first freeze window that covers the
// incident's rooms or sub-centers at now, clock times read in loc. A window
// that names no room nor sub-center covers everything; one that crosses
// midnight (22:00 to 06:00) belongs to the day it starts on; To may be
// 24:00; From equal to To is an empty window. A window written wrong
// (validation rejects it) covers nothing.
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
		if covers(w, now) {
			return w.Name, true
		}
	}
	return "", false
}

// covers reports whether a window's time of day holds at now (in its zone).
func covers(w *config.FreezeWindow, now time.Time) bool {
	from, ok1 := clockMinutes(w.From)
	to, ok2 := clockMinutes(w.To)
	days, ok3 := parseDays(w.Days)
	if !ok1 || !ok2 || !ok3 || from == to {
		return false
	}
	m := now.Hour()*60 + now.Minute()
	today, yesterday := now.Weekday(), (now.Weekday()+6)%7
	if from < to {
		return days[today] && m >= from && m < to
	}
	// Crosses midnight: the evening part is today's window, the morning
	// part yesterday's.
	return (days[today] && m >= from) || (days[yesterday] && m < to)
}

// clockMinutes parses HH:MM (00:00 to 24:00) into minutes since midnight.
func clockMinutes(s string) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return hh*60 + mm, true
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// parseDays reads "all" (or ""), "weekdays", "weekends" or a list such as
// "mon,wed".
func parseDays(s string) ([7]bool, bool) {
	var out [7]bool
	switch s = strings.ToLower(strings.TrimSpace(s)); s {
	case "", "all":
		return [7]bool{true, true, true, true, true, true, true}, true
	case "weekdays":
		return [7]bool{false, true, true, true, true, true, false}, true
	case "weekends":
		return [7]bool{true, false, false, false, false, false, true}, true
	}
	for _, d := range strings.Split(s, ",") {
		wd, ok := dayNames[strings.TrimSpace(d)]
		if !ok {
			return out, false
		}
		out[wd] = true
	}
	return out, true
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
