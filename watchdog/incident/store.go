package incident

import (
	"context"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
)

// Store keeps incidents. Opening is idempotent per cause key: however many
// watchdogs open one problem at once, it has one active incident.
type Store interface {
	// Open opens an incident for a problem at now, unless the problem's key
	// has an active incident already: then it returns that one and false.
	Open(ctx context.Context, p correlate.Problem, now time.Time) (Incident, bool, error)
	// Change applies fn to the incident as stored and saves the result
	// if fn returns no error, publishing an event of the given kind. A
	// change that lost a race to another is retried with the incident read
	// again: fn must be a pure function of its input.
	Change(ctx context.Context, id, event string, fn func(Incident) (Incident, error)) (Incident, error)
	// Act applies a person's (or the watchdog's) action to an incident.
	Act(ctx context.Context, id string, a Action) (Incident, error)
	// Get returns one incident; the error wraps ErrNotFound when there is
	// none.
	Get(ctx context.Context, id string) (Incident, error)
	// GetMany returns the incidents with these ids that exist.
	GetMany(ctx context.Context, ids []string) ([]Incident, error)
	// List returns the incidents opened in a period, oldest first.
	List(ctx context.Context, f Filter) ([]Incident, error)
	// Active returns the incidents not yet resolved.
	Active(ctx context.Context) ([]Incident, error)
}

// Filter selects incidents for List.
type Filter struct {
	// From and To bound when the incident opened (From inclusive, To
	// exclusive); zero means unbounded.
	From, To time.Time
	// States keeps only incidents in one of these states; empty keeps all.
	States []State
	// Limit keeps the newest Limit; 0 keeps all.
	Limit int
}

// Event is one change to an incident, published for the console and anyone
// printing incidents as they open and resolve.
type Event struct {
	// StreamID is the event's id in the events stream (set on read).
	StreamID string `json:"-"`
	// Kind is opened, updated, cause (its cause refined or lowered),
	// merged (into another: Incident.MergedInto names it), merged_in
	// (another was merged into this one), reopened, acknowledged,
	// mitigated, resolved, signed_off, note, breached or reclassified.
	Kind     string    `json:"kind"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Text     string    `json:"text,omitempty"`
	Incident Brief     `json:"incident"`
}

// The event kinds the watchdog's own changes publish (people's actions
// publish theirs: acknowledged, mitigated, resolved, note, signed_off,
// reclassified).
const (
	EventOpened   = "opened"
	EventUpdated  = "updated"
	EventCause    = "cause"
	EventMerged   = "merged"
	EventMergedIn = "merged_in"
	EventReopened = "reopened"
	EventResolved = "resolved"
	EventBreached = "breached"
	EventNote     = "note"
	// EventEscalate asks dispatch to escalate the incident at once: to its
	// receivers and the next level of their rosters, with the event's text
	// (an automatic remediation that did not fix it, say).
	EventEscalate = "escalate"
)

// Brief is an incident in a few fields, as events carry it.
type Brief struct {
	ID         string         `json:"id"`
	Key        string         `json:"key"`
	State      State          `json:"state"`
	Class      vocab.Class    `json:"class"`
	Severity   vocab.Severity `json:"severity"`
	Cause      vocab.Cause    `json:"cause"`
	Subject    string         `json:"subject"`
	Summary    string         `json:"summary"`
	SubCenters []string       `json:"sub_centers,omitempty"`
	Rooms      []string       `json:"rooms,omitempty"`
	Servers    []string       `json:"servers,omitempty"`
	Paging     bool           `json:"paging"`
	MutedBy    string         `json:"muted_by,omitempty"`
	MergedInto string         `json:"merged_into,omitempty"`
	DetectedAt time.Time      `json:"detected_at"`
	OpenedAt   time.Time      `json:"opened_at"`
	ResolvedAt time.Time      `json:"resolved_at,omitzero"`
	Deadline   time.Time      `json:"deadline"`
	Breached   bool           `json:"breached"`
	// Handling is its handling time as of the event (处置时长).
	Handling time.Duration `json:"handling_ns"`
}

// Brief returns the incident in a few fields.
func (inc *Incident) Brief() Brief {
	return Brief{
		ID: inc.ID, Key: inc.Key, State: inc.State, Class: inc.Class, Severity: inc.Severity,
		Cause: inc.Cause, Subject: inc.Subject, Summary: inc.Phenomenon.Summary,
		SubCenters: inc.Place.SubCenters, Rooms: inc.Place.Rooms, Servers: inc.Place.Servers,
		Paging: inc.Paging, MutedBy: inc.MutedBy, MergedInto: inc.MergedInto,
		DetectedAt: inc.DetectedAt, OpenedAt: inc.OpenedAt, ResolvedAt: inc.ResolvedAt, Deadline: inc.Deadline, Breached: inc.Breached,
		Handling: inc.HandlingTime(inc.ResolvedAt),
	}
}

// eventOf describes a change as the incident's last timeline entry says.
func eventOf(after *Incident, kind string) Event {
	ev := Event{Kind: kind, Incident: after.Brief()}
	if n := len(after.Timeline); n > 0 {
		last := after.Timeline[0]
		for _, e := range after.Timeline {
			if !e.At.Before(last.At) {
				last = e
			}
		}
		ev.At, ev.Actor, ev.Text = last.At, last.Actor, last.Text
	}
	return ev
}

// EventKind is the event an action publishes.
func EventKind(k ActionKind) string {
	switch k {
	case ActAcknowledge:
		return "acknowledged"
	case ActMitigate:
		return "mitigated"
	case ActResolve:
		return EventResolved
	case ActReopen:
		return EventReopened
	case ActSignOff:
		return "signed_off"
	case ActBreach:
		return EventBreached
	case ActReclassify:
		return "reclassified"
	}
	return string(k)
}
