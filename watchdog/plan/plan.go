// Package plan decides what the watchdog does to incidents: given the
// incidents it knows, the problems correlation sees now and what it
// remembers of each cause key, Plan returns the actions — open, update,
// refine or lower a cause, merge, resolve, reopen on a relapse, flag a
// breach, recheck servers — and the memory to keep. It is a pure function
// on the time it is given; the leader carries its actions out (Execute).
package plan

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Track is what the planner remembers of one cause key between ticks.
type Track struct {
	// Present is true when the key's problem was seen at the last tick;
	// Since is when the current run of ticks seeing it began.
	Present bool      `json:"present"`
	Since   time.Time `json:"since,omitzero"`
	// Incident is the key's latest incident.
	Incident string `json:"incident,omitempty"`
	// Fading is when the first of the problem's symptoms stopped while
	// others held, as last seen: when the problem goes away without its
	// symptoms ending (its rooms now explained by another cause), its
	// incident is resolved as of then.
	Fading time.Time `json:"fading,omitzero"`
}

// Book is the planner's memory: a Track per cause key. The leader keeps it
// in Redis, so a new leader carries on where the last one stopped.
type Book map[string]Track

// Kind is what an Action does.
type Kind string

// The kinds of action.
const (
	// Open a new incident for Problem.
	Open Kind = "open"
	// Update Incident with Problem (Material false: only figures changed).
	Update Kind = "update"
	// Retarget Incident to Problem: the symptoms went on, their cause is
	// refined (a room's to its server) or lowered.
	Retarget Kind = "retarget"
	// Merge Incident into Into: Into's problem explains its rooms now.
	Merge Kind = "merge"
	// Resolve Incident as of At: its symptoms ended then.
	Resolve Kind = "resolve"
	// Reopen Incident for Problem: a relapse.
	Reopen Kind = "reopen"
	// Breach records Incident's passed deadline.
	Breach Kind = "breach"
	// Unobserved notes that Incident's problem is out of sight.
	Unobserved Kind = "unobserved"
	// Recheck runs Servers' health checks now.
	Recheck Kind = "recheck"
)

// Action is one thing for the leader to do.
type Action struct {
	Kind     Kind
	Incident string
	Into     string
	Problem  *correlate.Problem
	At       time.Time
	Text     string
	Servers  []string
	// Material is false for an Update that only carries new figures.
	Material bool
}

func (a Action) String() string {
	s := string(a.Kind)
	if a.Incident != "" {
		s += " " + a.Incident
	}
	if a.Into != "" {
		s += " into " + a.Into
	}
	if a.Problem != nil {
		s += " " + a.Problem.Key
	}
	if len(a.Servers) > 0 {
		s += " " + strings.Join(a.Servers, ",")
	}
	return s
}

// Policy is the timing and incident policy the planner applies.
type Policy struct {
	// Settle: a problem seen from only part of the locations is believed
	// after it held this long.
	Settle time.Duration
	// HealthWait: a room problem whose servers have no reading newer than
	// its trouble waits this long for one before it is opened.
	HealthWait time.Duration
	// TakeoverGrace: a leader resolves nothing this long after it took
	// over, while its detectors rebuild their windows.
	TakeoverGrace time.Duration
	Incidents     config.IncidentPolicy
}

// PolicyOf reads the planner's policy from a watchdog configuration.
func PolicyOf(w config.Watchdog) Policy {
	return Policy{Settle: w.Correlate.Settle, HealthWait: w.Correlate.HealthWait, TakeoverGrace: w.Leader.TakeoverGrace, Incidents: w.Incidents}
}

// Input is what the planner looks at.
type Input struct {
	Now time.Time
	// Leading is when this leader took over.
	Leading time.Time
	// Correlation is what correlation sees now.
	Correlation correlate.Result
	// Incidents are the active incidents and every incident the book names.
	Incidents []incident.Incident
}

// Bind records in the book which incident carrying out an action made
// or kept for its problem's key (an incident just opened, reopened or
// retargeted), so the next plan knows it even if a person resolves it
// before it is seen active.
func (b Book) Bind(results []Result) {
	for _, r := range results {
		if r.Err != nil || r.Incident.ID == "" || r.Action.Problem == nil {
			continue
		}
		switch r.Action.Kind {
		case Open, Reopen, Retarget:
			t := b[r.Action.Problem.Key]
			t.Incident = r.Incident.ID
			b[r.Action.Problem.Key] = t
		}
	}
}

// Needs returns the incidents Plan needs besides the active ones: those the
// book names.
func (b Book) Needs() []string {
	var ids []string
	for _, t := range b {
		if t.Incident != "" {
			ids = append(ids, t.Incident)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Plan returns the actions that bring the incidents in line with the
// problems seen now, and the book to keep. Neither input is changed.
func Plan(book Book, in Input, pol Policy) (Book, []Action) {
	p := &planner{book: book, in: in, pol: pol, now: in.Now, next: Book{}, byID: map[string]*incident.Incident{},
		activeByKey: map[string]*incident.Incident{}, present: map[string]*correlate.Problem{}, bound: map[string]string{}}
	p.index()
	p.track()
	p.update()
	p.absent()
	p.appear()
	p.breaches()
	p.prune()
	return p.next, p.out
}

type planner struct {
	book        Book
	in          Input
	pol         Policy
	now         time.Time
	next        Book
	out         []Action
	byID        map[string]*incident.Incident
	active      []*incident.Incident
	activeByKey map[string]*incident.Incident
	present     map[string]*correlate.Problem
	// bound maps a present key to the incident that takes it this tick.
	bound map[string]string
	keys  []string // present keys, sorted
}

func (p *planner) emit(a Action) { p.out = append(p.out, a) }

// index sorts out the incidents and the problems.
func (p *planner) index() {
	for i := range p.in.Incidents {
		inc := &p.in.Incidents[i]
		p.byID[inc.ID] = inc
		if inc.State.Active() {
			p.active = append(p.active, inc)
		}
	}
	slices.SortFunc(p.active, func(a, b *incident.Incident) int {
		return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ID, b.ID))
	})
	for _, inc := range p.active {
		if _, dup := p.activeByKey[inc.Key]; !dup {
			p.activeByKey[inc.Key] = inc
		}
	}
	probs := p.in.Correlation.Problems
	for i := range probs {
		if probs[i].Incident() {
			p.present[probs[i].Key] = &probs[i]
		}
	}
	p.keys = slices.Sorted(maps.Keys(p.present))
}

// track updates the run of ticks each key was seen in.
func (p *planner) track() {
	for _, k := range p.keys {
		t := p.book[k]
		if !t.Present {
			t.Present, t.Since = true, p.now
		}
		t.Fading = p.present[k].FadingSince
		if inc := p.activeByKey[k]; inc != nil {
			t.Incident = inc.ID
		}
		p.next[k] = t
	}
	for k, t := range p.book {
		if _, ok := p.present[k]; !ok {
			t.Present, t.Since = false, time.Time{}
			p.next[k] = t
		}
	}
}

// update brings the active incidents of present problems up to date.
func (p *planner) update() {
	for _, k := range p.keys {
		inc := p.activeByKey[k]
		if inc == nil {
			continue
		}
		p.bound[k] = inc.ID
		if _, o := incident.Observe(*inc, *p.present[k], p.now, p.pol.Incidents); o != incident.Unchanged {
			p.emit(Action{Kind: Update, Incident: inc.ID, Problem: p.present[k], Material: o == incident.Updated})
		}
	}
}

// ready reports whether a problem is believed: a partial view has held for
// the settle time; a room problem has fresh health for its servers or has
// waited long enough for it.
func (p *planner) ready(pr *correlate.Problem) bool {
	held := p.now.Sub(p.next[pr.Key].Since)
	switch {
	case pr.Partial && held < p.pol.Settle:
		return false
	case len(pr.AwaitingHealth) > 0 && held < p.pol.HealthWait:
		return false
	}
	return true
}

// absent handles the active incidents whose problem is not seen now: merged
// into a server's or an uplink's incident that explains every room of
// theirs, retargeted to the problem that took their symptoms over, resolved
// when their symptoms ended, or left open (noted once) while nobody sees
// their rooms.
func (p *planner) absent() {
	grace := p.now.Sub(p.in.Leading) < p.pol.TakeoverGrace
	for _, inc := range p.active {
		if p.present[inc.Key] != nil || p.activeByKey[inc.Key] != inc {
			continue
		}
		if into, pr := p.container(inc); into != "" {
			p.emit(Action{Kind: Merge, Incident: inc.ID, Into: into, Problem: pr,
				Text: fmt.Sprintf("its rooms' trouble is explained by %s", correlate.Describe(pr))})
			continue
		}
		if pr, wait := p.successor(inc); pr != nil {
			p.bound[pr.Key] = inc.ID
			t := p.next[pr.Key]
			t.Incident = inc.ID
			p.next[pr.Key] = t
			p.emit(Action{Kind: Retarget, Incident: inc.ID, Problem: pr})
			continue
		} else if wait {
			continue
		}
		if grace {
			continue
		}
		switch {
		case !inc.ClearingSince.IsZero():
			p.emit(Action{Kind: Resolve, Incident: inc.ID, At: inc.ClearingSince,
				Text: fmt.Sprintf("recovered: symptoms ended at %s and stayed away for clear_after; resolved automatically", stamp(inc.ClearingSince))})
		case p.unseen(inc):
			if !inc.Unobserved {
				p.emit(Action{Kind: Unobserved, Incident: inc.ID,
					Text: "out of sight: no probe sees its rooms now (probes silent or stopped); it stays open until they are seen again or a person resolves it"})
			}
		default:
			at := inc.LastSeen
			if f := p.book[inc.Key].Fading; !f.IsZero() && f.Before(at) {
				at = f
			}
			if at.IsZero() {
				at = p.now
			}
			text := fmt.Sprintf("its trouble as %s %s is over (last seen %s)", inc.Cause, inc.Subject, stamp(at))
			if others := p.explainedBy(inc); others != "" {
				text += "; what remains is explained by " + others
			}
			p.emit(Action{Kind: Resolve, Incident: inc.ID, At: at, Text: text + "; resolved automatically"})
		}
	}
}

// container returns the active incident (and its problem) of a present
// server or uplink problem that explains every room the absent incident
// explained: the incident is merged into it.
func (p *planner) container(inc *incident.Incident) (string, *correlate.Problem) {
	if len(inc.Explains) == 0 {
		return "", nil
	}
	for _, k := range p.keys {
		pr := p.present[k]
		if pr.Cause != vocab.CauseServer && pr.Cause != vocab.CauseUplink {
			continue
		}
		into := p.bound[k]
		if into == "" || into == inc.ID || !subset(inc.Explains, pr.Explains) {
			continue
		}
		return into, pr
	}
	return "", nil
}

// successor returns the present problem with no incident yet that took the
// absent incident's symptoms over — it explains rooms the incident
// explained, and its own symptoms still hold — the one sharing the most
// rooms; wait is true when such a problem exists but is not believed yet.
func (p *planner) successor(inc *incident.Incident) (best *correlate.Problem, wait bool) {
	if !inc.ClearingSince.IsZero() {
		return nil, false // its symptoms ended: nothing took them over
	}
	n := 0
	for _, k := range p.keys {
		pr := p.present[k]
		if p.bound[k] != "" || pr.Clearing() {
			continue
		}
		shared := overlap(inc.Explains, pr.Explains)
		if shared == 0 {
			continue
		}
		if !p.ready(pr) {
			wait = true
			continue
		}
		if shared > n {
			best, n = pr, shared
		}
	}
	if best != nil {
		wait = false
	}
	return best, wait
}

// unseen reports whether nobody sees the incident's rooms (and, for a
// server, its health) now.
func (p *planner) unseen(inc *incident.Incident) bool {
	rooms := inc.Explains
	if len(rooms) == 0 {
		rooms = inc.Place.Rooms
	}
	if len(rooms) == 0 {
		return false
	}
	for _, r := range rooms {
		if v, ok := p.in.Correlation.Rooms[r]; ok && v != vocab.ViewUnknown {
			return false
		}
	}
	return true
}

// explainedBy names the present problems that explain rooms the incident
// explained.
func (p *planner) explainedBy(inc *incident.Incident) string {
	var out []string
	for _, k := range p.keys {
		if overlap(inc.Explains, p.present[k].Explains) > 0 {
			out = append(out, correlate.Describe(p.present[k]))
		}
	}
	return strings.Join(out, ", ")
}

// appear opens incidents for the present problems that have none, reopens
// the resolved incident of a relapse, and leaves alone a problem whose
// incident a person resolved while its symptoms went on.
func (p *planner) appear() {
	var recheck []string
	for _, k := range p.keys {
		pr := p.present[k]
		if p.bound[k] != "" {
			continue
		}
		if !p.ready(pr) {
			recheck = append(recheck, pr.AwaitingHealth...)
			continue
		}
		t := p.next[k]
		if last := p.byID[t.Incident]; last != nil && !last.State.Active() && last.State != incident.StateMerged {
			if !t.Since.After(last.ResolvedAt) {
				continue // resolved by hand while the symptoms went on
			}
			if last.State == incident.StateResolved && p.now.Sub(last.ResolvedAt) <= p.pol.Incidents.ReopenWithin {
				p.bound[k] = last.ID
				p.emit(Action{Kind: Reopen, Incident: last.ID, Problem: pr})
				continue
			}
		}
		p.bound[k] = "(new)"
		p.emit(Action{Kind: Open, Problem: pr})
	}
	if len(recheck) > 0 {
		slices.Sort(recheck)
		p.emit(Action{Kind: Recheck, Servers: slices.Compact(recheck)})
	}
}

// breaches flags the active incidents past their deadline, unless their
// symptoms had ended before it.
func (p *planner) breaches() {
	for _, inc := range p.active {
		if inc.Breached || p.now.Before(inc.Deadline) {
			continue
		}
		if !inc.ClearingSince.IsZero() && inc.ClearingSince.Before(inc.Deadline) {
			continue
		}
		if slices.ContainsFunc(p.out, func(a Action) bool {
			return a.Incident == inc.ID && (a.Kind == Resolve || a.Kind == Merge)
		}) {
			continue
		}
		p.emit(Action{Kind: Breach, Incident: inc.ID})
	}
}

// prune forgets keys not seen now whose incident needs no memory: none,
// merged, or resolved longer ago than the reopen time.
func (p *planner) prune() {
	for k, t := range p.next {
		if t.Present {
			continue
		}
		inc := p.byID[t.Incident]
		switch {
		case inc == nil, inc.State == incident.StateMerged:
			delete(p.next, k)
		case !inc.State.Active() && p.now.Sub(inc.ResolvedAt) > p.pol.Incidents.ReopenWithin:
			delete(p.next, k)
		}
	}
}

func subset(xs, of []string) bool {
	for _, x := range xs {
		if !slices.Contains(of, x) {
			return false
		}
	}
	return true
}

func overlap(a, b []string) int {
	n := 0
	for _, x := range a {
		if slices.Contains(b, x) {
			n++
		}
	}
	return n
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
