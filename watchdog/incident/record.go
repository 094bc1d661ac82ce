package incident

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

// maxErrors bounds the distinct errors a phenomenon keeps.
const maxErrors = 5

// Outcome is what Update did.
type Outcome int

// The outcomes of Update.
const (
	// Unchanged: nothing new to record.
	Unchanged Outcome = iota
	// Updated: the record changed (place, findings, severity, class,
	// cause, paging).
	Updated
	// Reopened: the problem came back after the incident was resolved,
	// within the reopen time.
	Reopened
	// Expired: the incident is signed off, or resolved longer ago than the
	// reopen time; the problem needs a new incident.
	Expired
	// Opened: a store opened a new incident for the problem.
	Opened
	// Figures: only the phenomenon's worst figures changed; a watchdog may
	// write these less often.
	Figures
)

func (o Outcome) String() string {
	return [...]string{"unchanged", "updated", "reopened", "expired", "opened", "figures"}[o]
}

// FactsOf returns what class rules look at in a problem.
func FactsOf(p *correlate.Problem) Facts {
	return Facts{Cause: string(p.Cause), Kinds: p.Kinds, Roles: p.Roles, Severity: string(p.Severity), Rooms: len(p.Rooms)}
}

// New returns the incident a problem opens at now; the store gives it its
// id.
func New(p correlate.Problem, now time.Time, policy config.IncidentPolicy) Incident {
	class, rule := Classify(policy.Rules, FactsOf(&p))
	d, _ := policy.Deadlines.Of(class)
	inc := Incident{
		Fingerprint:  p.Fingerprint,
		Fingerprints: []string{p.Fingerprint},
		State:        StateOpen,
		Cause:        string(p.Cause),
		Subject:      p.Subject,
		Class:        class,
		ClassRule:    rule,
		Severity:     string(p.Severity),
		Paging:       p.Page,
		MutedBy:      p.MutedBy,
		DetectedAt:   p.Since,
		OpenedAt:     now,
		Deadline:     now.Add(d),
	}
	if inc.DetectedAt.IsZero() || inc.DetectedAt.After(now) {
		inc.DetectedAt = now
	}
	inc.CauseText = causeText(&p)
	inc.log(now, Actor, "opened", fmt.Sprintf("%s; class %s (%s), deadline %s", p.Summary, class, rule, inc.Deadline.Format(time.RFC3339)))
	if !p.Page {
		inc.log(now, Actor, "muted", "not paged: maintenance window "+p.MutedBy)
	}
	merge(&inc, &p, now)
	return inc
}

// Update returns inc brought up to date with the problem seen at now, and
// what that did. A resolved incident is reopened only on a relapse: the
// problem's symptoms began after it was resolved (symptoms that went on
// while a person resolved it by hand do not reopen it).
func Update(inc Incident, p correlate.Problem, now time.Time, policy config.IncidentPolicy) (Incident, Outcome) {
	switch inc.State {
	case StateSignedOff:
		return inc, Expired
	case StateResolved:
		if !p.Since.After(inc.ResolvedAt) {
			return inc, Unchanged
		}
		if now.Sub(inc.ResolvedAt) > policy.ReopenWithin {
			return inc, Expired
		}
		out, err := Apply(inc, Action{Kind: ActReopen, Actor: Actor, At: now,
			Text: fmt.Sprintf("relapse %s after it was resolved: %s", now.Sub(inc.ResolvedAt).Round(time.Second), p.Summary)}, policy)
		if err != nil {
			return inc, Unchanged
		}
		merge(&out, &p, now)
		refine(&out, &p, now, policy)
		return out, Reopened
	}
	out := inc.clone()
	material, figures := merge(&out, &p, now)
	material = refine(&out, &p, now, policy) || material
	switch {
	case material:
		return out, Updated
	case figures:
		return out, Figures
	}
	return inc, Unchanged
}

// refine updates cause, paging and class from the problem; it reports
// whether anything changed.
func refine(inc *Incident, p *correlate.Problem, now time.Time, policy config.IncidentPolicy) bool {
	changed := false
	if !slices.Contains(inc.Fingerprints, p.Fingerprint) {
		inc.Fingerprints = append(inc.Fingerprints, p.Fingerprint)
		changed = true
	}
	if correlate.Cause(inc.Cause).Strength() < p.Cause.Strength() {
		old := inc.Cause + " " + inc.Subject
		inc.Cause, inc.Subject, inc.Fingerprint = string(p.Cause), p.Subject, p.Fingerprint
		inc.CauseText = causeText(p)
		inc.log(now, Actor, "cause", fmt.Sprintf("cause refined: %s → %s %s", old, p.Cause, p.Subject))
		changed = true
	}
	if p.Page != inc.Paging && inc.State.Active() {
		inc.Paging, inc.MutedBy = p.Page, p.MutedBy
		if p.Page {
			inc.log(now, Actor, "paging", "maintenance window over: paging")
		} else {
			inc.log(now, Actor, "muted", "not paged: maintenance window "+p.MutedBy)
		}
		changed = true
	}
	// The class only goes up on its own; a person may set it either way.
	facts := FactsOf(p)
	facts.Rooms = max(facts.Rooms, len(inc.Place.Rooms))
	facts.Kinds = inc.Kinds
	facts.Severity = inc.Severity
	if class, rule := Classify(policy.Rules, facts); config.ClassRank(class) > config.ClassRank(inc.Class) {
		d, _ := policy.Deadlines.Of(class)
		old := inc.Class
		inc.Class, inc.ClassRule, inc.Deadline = class, rule, inc.OpenedAt.Add(d)
		inc.log(now, Actor, "reclassified", fmt.Sprintf("%s → %s (%s), deadline %s", old, class, rule, inc.Deadline.Format(time.RFC3339)))
		changed = true
	}
	return changed
}

// merge folds the problem's place, findings and figures into the incident
// (lists only grow, figures keep their worst); it reports whether the
// record changed materially, and whether figures did.
func merge(inc *Incident, p *correlate.Problem, now time.Time) (material, figures bool) {
	changed := false
	union := func(dst *[]string, src []string) {
		for _, s := range src {
			if !slices.Contains(*dst, s) {
				*dst = append(*dst, s)
				changed = true
			}
		}
		slices.Sort(*dst)
	}
	union(&inc.Place.SubCenters, p.SubCenters)
	union(&inc.Place.Rooms, p.Rooms)
	union(&inc.Place.Servers, p.Servers)
	union(&inc.Place.Locations, p.Locations)
	union(&inc.Kinds, p.Kinds)
	if detect.Severity(p.Severity).Rank() > detect.Severity(inc.Severity).Rank() {
		inc.Log(now, Actor, "updated", fmt.Sprintf("severity %s → %s", inc.Severity, p.Severity))
		inc.Severity = string(p.Severity)
		changed = true
	}
	for _, f := range p.Findings {
		id := f.ID()
		if !slices.Contains(inc.Findings, id) {
			inc.Findings = append(inc.Findings, id)
			at := f.FiredAt
			if at.IsZero() {
				at = now
			}
			inc.log(at, Actor, "detected", findingText(&f))
			changed = true
		}
		figures = worst(&inc.Phenomenon, &f) || figures
	}
	if inc.Phenomenon.Summary != p.Summary && p.Summary != "" {
		inc.Phenomenon.Summary = p.Summary
		changed = true
	}
	return changed, figures
}

// Log appends a timeline entry.
func (inc *Incident) Log(at time.Time, actor, kind, text string) { inc.log(at, actor, kind, text) }

// worst keeps the worst figures; it reports whether any got worse.
func worst(ph *Phenomenon, f *detect.Finding) bool {
	changed := false
	up := func(dst *float64, v float64) {
		if v > *dst {
			*dst, changed = v, true
		}
	}
	upInt := func(dst *int, v int) {
		if v > *dst {
			*dst, changed = v, true
		}
	}
	fg := f.Figures
	up(&ph.RTTP95MS, round1(fg.RTTP95MS))
	up(&ph.RTTMaxMS, round1(fg.RTTMaxMS))
	up(&ph.StutterPct, round1(fg.StutterPct))
	up(&ph.FreezeMS, round1(fg.FreezeMS))
	upInt(&ph.ParticipantsDown, fg.Down)
	upInt(&ph.Dropouts, fg.Dropouts)
	up(&ph.OutageMS, round1(fg.OutageMS))
	upInt(&ph.HealthFailures, fg.Failures)
	if f.Kind == detect.KindSaturation {
		if ph.Readings == nil {
			ph.Readings = map[string]float64{}
		}
		k := f.Server + " " + f.Reading
		v, ok := ph.Readings[k]
		if !ok || fg.Value > v {
			ph.Readings[k], changed = round1(fg.Value), true
		}
	}
	if fg.Error != "" && len(ph.Errors) < maxErrors && !slices.Contains(ph.Errors, fg.Error) {
		ph.Errors, changed = append(ph.Errors, fg.Error), true
	}
	return changed
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

func findingText(f *detect.Finding) string {
	where := ""
	switch {
	case f.Room != "":
		where = fmt.Sprintf("room %s from probe %s (%s)", f.Room, f.Probe, f.Location)
	case f.Server != "":
		where = "server " + f.Server
	case f.Probe != "":
		where = "probe " + f.Probe
	}
	return fmt.Sprintf("%s %s at %s: %s", f.Severity, f.Kind, where, f.Text)
}

// causeText says in words what a problem is blamed on and why.
func causeText(p *correlate.Problem) string {
	switch p.Cause {
	case correlate.CauseServer:
		why := slices.Clone(p.Evidence)
		for _, f := range p.Findings {
			if f.Server == p.Subject && f.Text != "" && !slices.Contains(why, f.Text) {
				why = append(why, f.Text)
			}
		}
		if len(why) == 0 {
			why = append(why, "its health checks or readings are off limits")
		}
		return fmt.Sprintf("server %s (%s): %s; the rooms it carries are affected", p.Subject, strings.Join(p.Roles, ", "), strings.Join(why, "; "))
	case correlate.CauseRoom:
		return fmt.Sprintf("room/application %s: degraded from every probe location (%s) while its servers are healthy", p.Subject, strings.Join(p.Locations, ", "))
	case correlate.CauseNetwork:
		return fmt.Sprintf("network path to %s: rooms seen degraded only from probes at %s and fine from elsewhere", p.Subject, p.Subject)
	}
	return p.Summary
}

// readingsLine renders the readings sorted, for exports.
func readingsLine(r map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r)) {
		parts = append(parts, fmt.Sprintf("%s=%g", k, r[k]))
	}
	return strings.Join(parts, "; ")
}
