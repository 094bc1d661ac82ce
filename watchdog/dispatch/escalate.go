package dispatch

import (
	"fmt"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Escalations returns the escalation and reminder notices due for an
// active incident at now, given its first-level receivers. Each has a
// stable id, so working them out again every second queues nothing twice:
//
//   - not acknowledged within escalate.unacknowledged, and again each time
//     that much more passes: the next level of each roster;
//   - at each of escalate.deadline_pcts of the time from opening to the
//     SLA deadline, and at the breach: the duty officer and the next level;
//   - every `remind` while it is open and not acknowledged: the duty
//     officer, again.
//
// A pure function: the time is given.
func Escalations(inc *incident.Incident, first []Receiver, r *Roster, d *config.Dispatch, now time.Time) []Notice {
	if !inc.State.Active() {
		return nil
	}
	b := inc.Brief()
	var out []Notice
	add := func(step string, level int, text string) {
		for _, f := range first {
			n := r.Levels(f.SubCenter)
			if n == 0 {
				continue
			}
			rc := Receiver{SubCenter: f.SubCenter, Level: min(level, n-1)}
			kind := KindEscalation
			if step[0] == 'r' {
				kind = KindReminder
			}
			out = append(out, Notice{ID: noticeID(inc.ID, step, rc), Kind: kind, Receiver: rc, Incident: b, At: now, Text: text})
		}
	}
	open := inc.State == incident.StateOpen
	age := now.Sub(inc.OpenedAt)
	if u := d.Escalate.Unacknowledged; open && u > 0 && age >= u {
		k := int(age / u)
		for j := 1; j <= k; j++ {
			add(fmt.Sprintf("unack%d", j), j, fmt.Sprintf("开单后 %s 仍未确认接单，升级通知", time.Duration(j)*u))
		}
	}
	span := inc.Deadline.Sub(inc.OpenedAt)
	for i, pct := range d.Escalate.DeadlinePcts {
		if span <= 0 || age < span*time.Duration(pct)/100 {
			continue
		}
		left := inc.Deadline.Sub(now).Round(time.Minute)
		text := fmt.Sprintf("已过 SLA 时限的 %d%%，剩余 %s", pct, left)
		add(fmt.Sprintf("pct%d", pct), 0, text)
		add(fmt.Sprintf("pct%d", pct), i+1, text)
	}
	if d.Escalate.Breach && (inc.Breached || !now.Before(inc.Deadline)) {
		add("breach", 0, "已超过 SLA 时限，仍未排除")
		for lv := 1; lv < 8; lv++ {
			add("breach", lv, "已超过 SLA 时限，仍未排除")
		}
	}
	if rm := d.Remind; open && rm > 0 && age >= rm {
		k := int(age / rm)
		add(fmt.Sprintf("remind%d", k), 0, fmt.Sprintf("开单已 %s，仍未确认接单", time.Duration(k)*rm))
	}
	return dedupe(out)
}

// dedupe keeps the first notice of each id (levels capped at a roster's
// top make the same notice twice).
func dedupe(ns []Notice) []Notice {
	seen := map[string]bool{}
	out := ns[:0]
	for _, n := range ns {
		if !seen[n.ID] {
			seen[n.ID] = true
			out = append(out, n)
		}
	}
	return out
}
