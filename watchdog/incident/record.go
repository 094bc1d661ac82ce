package incident

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

// maxErrors bounds the distinct errors a phenomenon keeps.
const maxErrors = 5

// Outcome is what Observe did.
type Outcome int

// The outcomes of Observe.
const (
	// Unchanged: nothing new to record.
	Unchanged Outcome = iota
	// Updated: the record changed materially (place, findings, severity,
	// class, cause text, paging, symptoms ending or resuming).
	Updated
	// Figures: only the phenomenon's worst figures (or when the problem
	// was last seen) changed; a watchdog may write these less often.
	Figures
)

func (o Outcome) String() string {
	return [...]string{"unchanged", "updated", "figures"}[o]
}

// FactsOf returns what class rules look at in a problem.
func FactsOf(p *correlate.Problem) Facts {
	return Facts{Cause: p.Cause, Kinds: p.Kinds, Roles: p.Roles, Severity: p.Severity, Rooms: len(p.Rooms)}
}

// Open returns the incident a problem opens at now; the store gives it its
// id.
func Open(p correlate.Problem, now time.Time, policy config.IncidentPolicy) Incident {
	class, rule := Classify(policy.Rules, FactsOf(&p))
	d, _ := policy.Deadlines.Of(class)
	inc := Incident{
		Key:        p.Key,
		State:      StateOpen,
		Cause:      p.Cause,
		Subject:    p.Subject,
		Class:      class,
		ClassRule:  rule,
		Severity:   p.Severity,
		Paging:     p.Page,
		MutedBy:    p.MutedBy,
		DetectedAt: p.Since,
		OpenedAt:   now,
		Deadline:   now.Add(d),
	}
	if inc.DetectedAt.IsZero() || inc.DetectedAt.After(now) {
		inc.DetectedAt = now
	}
	inc.CauseText = CauseText(&p)
	inc.log(now, Actor, "opened", fmt.Sprintf("%s; class %s (%s), deadline %s", p.Summary, class, rule, inc.Deadline.Format(time.RFC3339)))
	if !p.Page {
		inc.log(now, Actor, "muted", "not paged: maintenance window "+p.MutedBy)
	}
	fold(&inc, &p, now)
	return inc
}

// Observe returns an active incident brought up to date with its problem
// as seen at now, and what that did.
func Observe(inc Incident, p correlate.Problem, now time.Time, policy config.IncidentPolicy) (Incident, Outcome) {
	if !inc.State.Active() {
		return inc, Unchanged
	}
	out := inc.clone()
	material, figures := fold(&out, &p, now)
	material = refresh(&out, &p, now, policy) || material
	switch {
	case material:
		return out, Updated
	case figures:
		return out, Figures
	}
	return inc, Unchanged
}

// Retarget returns an active incident whose problem gave way to another
// one, without a break in the symptoms: its cause is refined (a room's
// trouble put on its server) or lowered (the server turned out healthy and
// the room's own trouble remains), recorded in the timeline.
func Retarget(inc Incident, p correlate.Problem, now time.Time, policy config.IncidentPolicy) Incident {
	out := inc.clone()
	verb := "refined"
	if slices.Index(vocab.IncidentCauses, p.Cause) > slices.Index(vocab.IncidentCauses, inc.Cause) {
		verb = "lowered"
	}
	out.log(now, Actor, "cause", fmt.Sprintf("cause %s: %s %s → %s %s: %s", verb, inc.Cause, inc.Subject, p.Cause, p.Subject, CauseText(&p)))
	out.Key, out.Cause, out.Subject = p.Key, p.Cause, p.Subject
	out.CauseText = CauseText(&p)
	fold(&out, &p, now)
	refresh(&out, &p, now, policy)
	return out
}

// Reopen returns a resolved incident reopened by a relapse: its problem
// came back after the incident was resolved.
func Reopen(inc Incident, p correlate.Problem, now time.Time, policy config.IncidentPolicy) (Incident, error) {
	out, err := Apply(inc, Action{Kind: ActReopen, Actor: Actor, At: now,
		Text: fmt.Sprintf("relapse %s after it was resolved: %s", now.Sub(inc.ResolvedAt).Round(time.Second), p.Summary)}, policy)
	if err != nil {
		return inc, err
	}
	fold(&out, &p, now)
	refresh(&out, &p, now, policy)
	return out, nil
}

// Merge takes child into parent: the problem behind child is now explained
// by parent's (a room's trouble by its server's). child ends as merged,
// linked to parent; parent gains child's place, findings, figures and
// timeline (each entry marked with where it came from), and counts for
// both. The inputs are not changed.
func Merge(child, parent Incident, now time.Time, why string) (Incident, Incident, error) {
	switch {
	case !child.State.Active():
		return child, parent, fmt.Errorf("merge %s: it is %s: %w", child.ID, child.State, ErrTransition)
	case parent.State == StateSignedOff:
		return child, parent, fmt.Errorf("merge into %s: %w", parent.ID, ErrFrozen)
	case parent.State == StateMerged:
		return child, parent, fmt.Errorf("merge into %s: %w", parent.ID, ErrMerged)
	case child.ID == parent.ID:
		return child, parent, fmt.Errorf("merge %s into itself: %w", child.ID, ErrBadAction)
	}
	c, p := child.clone(), parent.clone()
	for _, e := range child.Timeline {
		if e.From == "" {
			e.From = child.ID
		}
		p.insert(e)
	}
	p.MergedFrom = append(p.MergedFrom, child.ID)
	union(&p.Place.SubCenters, c.Place.SubCenters)
	union(&p.Place.Rooms, c.Place.Rooms)
	union(&p.Place.Servers, c.Place.Servers)
	union(&p.Place.Locations, c.Place.Locations)
	union(&p.Kinds, c.Kinds)
	union(&p.Findings, c.Findings)
	p.Severity = vocab.Worse(p.Severity, c.Severity)
	worstOf(&p.Phenomenon, &c.Phenomenon)
	if c.DetectedAt.Before(p.DetectedAt) {
		p.DetectedAt = c.DetectedAt
	}
	p.log(now, Actor, "merged", fmt.Sprintf("%s (%s %s, opened %s) merged in: %s", c.ID, c.Cause, c.Subject, c.OpenedAt.UTC().Format(time.RFC3339), why))
	c.State, c.MergedInto, c.ClearingSince = StateMerged, p.ID, time.Time{}
	c.log(now, Actor, "merged", fmt.Sprintf("merged into %s (%s %s): %s", p.ID, p.Cause, p.Subject, why))
	return c, p, nil
}

// fold folds the problem's place, findings and figures into the incident
// (lists only grow, figures keep their worst) and records when it was seen
// and whether its symptoms still hold; it reports whether the record
// changed materially, and whether figures did.
func fold(inc *Incident, p *correlate.Problem, now time.Time) (material, figures bool) {
	changed := false
	grow := func(dst *[]string, src []string) { changed = union(dst, src) || changed }
	grow(&inc.Place.SubCenters, p.SubCenters)
	grow(&inc.Place.Rooms, p.Rooms)
	grow(&inc.Place.Servers, p.Servers)
	grow(&inc.Place.Locations, p.Locations)
	changed = union(&inc.Kinds, p.Kinds) || changed
	if p.Severity.Rank() > inc.Severity.Rank() {
		inc.log(now, Actor, "updated", fmt.Sprintf("severity %s → %s", inc.Severity, p.Severity))
		inc.Severity = p.Severity
		changed = true
	}
	known := make(map[string]bool, len(inc.Findings))
	for _, id := range inc.Findings {
		known[id] = true
	}
	var fresh []*detect.Finding
	for _, f := range p.Findings {
		id := f.ID()
		if !known[id] {
			known[id] = true
			inc.Findings = append(inc.Findings, id)
			fresh = append(fresh, f)
			changed = true
		}
		figures = worst(&inc.Phenomenon, f) || figures
	}
	for _, e := range detected(fresh, now) {
		inc.log(e.At, Actor, "detected", e.Text)
	}
	if inc.Phenomenon.Summary != p.Summary && p.Summary != "" {
		inc.Phenomenon.Summary = p.Summary
		figures = true
	}
	if !slices.Equal(inc.Explains, p.Explains) {
		inc.Explains = slices.Clone(p.Explains)
		figures = true
	}
	if !inc.ClearingSince.Equal(p.ClearSince) {
		switch {
		case p.ClearSince.IsZero():
			inc.log(now, Actor, "updated", "symptoms are back")
		case inc.ClearingSince.IsZero():
			inc.log(now, Actor, "updated", fmt.Sprintf("symptoms ended at %s; resolved if they stay away", p.ClearSince.UTC().Format(time.RFC3339)))
		}
		inc.ClearingSince = p.ClearSince
		changed = true
	}
	if inc.Unobserved {
		inc.Unobserved = false
		inc.log(now, Actor, "updated", "seen again")
		changed = true
	}
	if now.After(inc.LastSeen) {
		inc.LastSeen = now
		figures = true
	}
	return changed, figures
}

// refresh updates cause text, paging and class from the problem; it
// reports whether anything changed materially.
func refresh(inc *Incident, p *correlate.Problem, now time.Time, policy config.IncidentPolicy) bool {
	changed := false
	if t := CauseText(p); t != inc.CauseText && inc.Key == p.Key {
		inc.CauseText = t
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
	if class, rule := Classify(policy.Rules, facts); class.Rank() > inc.Class.Rank() {
		d, _ := policy.Deadlines.Of(class)
		old := inc.Class
		inc.Class, inc.ClassRule, inc.Deadline = class, rule, inc.OpenedAt.Add(d)
		inc.log(now, Actor, "reclassified", fmt.Sprintf("%s → %s (%s), deadline %s", old, class, rule, inc.Deadline.Format(time.RFC3339)))
		changed = true
	}
	return changed
}

// union adds src's strings missing from dst and sorts dst; it reports
// whether it added any.
func union[T ~string](dst *[]T, src []T) bool {
	if len(src) == 0 {
		return false
	}
	var have map[T]bool
	if len(*dst) > 8 {
		have = make(map[T]bool, len(*dst))
		for _, s := range *dst {
			have[s] = true
		}
	}
	added := false
	for _, s := range src {
		if have != nil && have[s] || have == nil && slices.Contains(*dst, s) {
			continue
		}
		*dst = append(*dst, s)
		if have != nil {
			have[s] = true
		}
		added = true
	}
	if added {
		slices.Sort(*dst)
	}
	return added
}

// worst keeps the worst figures of a finding; it reports whether any got
// worse.
func worst(ph *Phenomenon, f *detect.Finding) bool {
	fg := f.Figures
	o := Phenomenon{
		RTTP95MS: round1(fg.RTTP95MS), RTTMaxMS: round1(fg.RTTMaxMS),
		StutterPct: round1(fg.StutterPct), FreezeMS: round1(fg.FreezeMS),
		ParticipantsDown: fg.Down, Dropouts: fg.Dropouts, OutageMS: round1(fg.OutageMS),
		HealthFailures: fg.Failures,
	}
	if f.Kind == vocab.KindSaturation {
		o.Readings = map[string]float64{f.Server + " " + f.Reading: round1(fg.Value)}
	}
	if fg.Error != "" {
		o.Errors = []string{fg.Error}
	}
	return worstOf(ph, &o)
}

// worstOf keeps in ph the worst of ph's and o's figures; it reports
// whether any got worse.
func worstOf(ph, o *Phenomenon) bool {
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
	up(&ph.RTTP95MS, o.RTTP95MS)
	up(&ph.RTTMaxMS, o.RTTMaxMS)
	up(&ph.StutterPct, o.StutterPct)
	up(&ph.FreezeMS, o.FreezeMS)
	upInt(&ph.ParticipantsDown, o.ParticipantsDown)
	upInt(&ph.Dropouts, o.Dropouts)
	up(&ph.OutageMS, o.OutageMS)
	upInt(&ph.HealthFailures, o.HealthFailures)
	for _, k := range slices.Sorted(maps.Keys(o.Readings)) {
		v, ok := ph.Readings[k]
		if !ok || o.Readings[k] > v {
			if ph.Readings == nil {
				ph.Readings = map[string]float64{}
			}
			ph.Readings[k], changed = o.Readings[k], true
		}
	}
	for _, e := range o.Errors {
		if len(ph.Errors) < maxErrors && !slices.Contains(ph.Errors, e) {
			ph.Errors, changed = append(ph.Errors, e), true
		}
	}
	return changed
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// maxListed bounds the rooms a timeline entry names.
const maxListed = 6

// detected turns new findings into timeline entries: one per finding, or,
// for many at once, one per kind and place seen from — a network fault
// seen in 500 rooms is one line, not 500.
func detected(fs []*detect.Finding, now time.Time) []Entry {
	type group struct {
		first *detect.Finding
		at    time.Time
		rooms []string
		n     int
	}
	at := func(f *detect.Finding) time.Time {
		if f.FiredAt.IsZero() || f.FiredAt.After(now) {
			return now
		}
		return f.FiredAt
	}
	if len(fs) <= maxListed {
		out := make([]Entry, len(fs))
		for i, f := range fs {
			out[i] = Entry{At: at(f), Text: findingText(f)}
		}
		return out
	}
	groups := map[string]*group{}
	var order []string
	for _, f := range fs {
		k := string(f.Kind) + "|" + f.Location + "|" + f.Server + "|" + string(f.Severity)
		g := groups[k]
		if g == nil {
			g = &group{first: f, at: at(f)}
			groups[k] = g
			order = append(order, k)
		}
		g.n++
		if t := at(f); t.Before(g.at) {
			g.at = t
		}
		if f.Room != "" && !slices.Contains(g.rooms, f.Room) {
			g.rooms = append(g.rooms, f.Room)
		}
	}
	out := make([]Entry, 0, len(order))
	for _, k := range order {
		g := groups[k]
		f := g.first
		if g.n == 1 {
			out = append(out, Entry{At: g.at, Text: findingText(f)})
			continue
		}
		slices.Sort(g.rooms)
		where := "from probes at " + f.Location
		if f.Room == "" {
			where = "at " + f.Server + f.Probe
		}
		listed := g.rooms
		more := ""
		if len(listed) > maxListed {
			more = fmt.Sprintf(" … (+%d more)", len(listed)-maxListed)
			listed = listed[:maxListed]
		}
		out = append(out, Entry{At: g.at, Text: fmt.Sprintf("%s %s %s: %d findings, rooms %s%s; e.g. %s",
			f.Severity, f.Kind, where, g.n, strings.Join(listed, ", "), more, f.Text)})
	}
	return out
}

func findingText(f *detect.Finding) string {
	where := ""
	switch {
	case f.Room != "":
		where = fmt.Sprintf("room %s from probe %s (%s", f.Room, f.Probe, f.Location)
		if f.Transport != "" {
			where += ", " + f.Transport
		}
		where += ")"
	case f.Server != "":
		where = "server " + f.Server
	case f.Probe != "":
		where = "probe " + f.Probe
	}
	return fmt.Sprintf("%s %s at %s: %s", f.Severity, f.Kind, where, f.Text)
}

// CauseText says in words what a problem is blamed on and why.
func CauseText(p *correlate.Problem) string {
	why := strings.Join(p.Evidence, "; ")
	switch p.Cause {
	case vocab.CauseServer:
		if why == "" {
			why = "its health checks or readings are off limits"
		}
		s := fmt.Sprintf("server %s (%s): %s", p.Subject, strings.Join(p.Roles, ", "), why)
		if len(p.Explains) > 0 {
			s += "; rooms in trouble because of it: " + strings.Join(p.Explains, ", ")
		}
		return s
	case vocab.CauseUplink:
		return fmt.Sprintf("uplink of %s (the hosting site's own line): %s", p.Subject, why)
	case vocab.CauseRoom:
		return fmt.Sprintf("room/application %s: %s", p.Subject, why)
	case vocab.CauseNetwork:
		return fmt.Sprintf("network path to %s (the viewers' side): %s", p.Subject, why)
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

// MarkUnobserved notes that an active incident's problem is out of sight
// with nothing seen to end it; it stays open.
func MarkUnobserved(inc Incident, now time.Time, text string) (Incident, error) {
	if !inc.State.Active() || inc.Unobserved {
		return inc, ErrNoChange
	}
	out := inc.clone()
	out.Unobserved = true
	out.log(now, Actor, "note", text)
	return out, nil
}
