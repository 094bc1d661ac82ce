package incident

import (
	"context"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/correlate"
)

// Store keeps incidents. Implementations make Observe idempotent per
// problem fingerprint: however many watchdogs observe one problem, it has
// one incident.
type Store interface {
	// Observe opens the incident for a problem, or updates or reopens the
	// one it has, as of now.
	Observe(ctx context.Context, p correlate.Problem, now time.Time) (Incident, Outcome, error)
	// Act applies a person's (or the watchdog's) action to an incident.
	Act(ctx context.Context, id string, a Action) (Incident, error)
	// Get returns one incident; the error wraps ErrNotFound when there is
	// none.
	Get(ctx context.Context, id string) (Incident, error)
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
	// Kind is opened, updated, reopened, acknowledged, mitigated, resolved,
	// signed_off, note, breached or reclassified.
	Kind     string    `json:"kind"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Text     string    `json:"text,omitempty"`
	Incident Brief     `json:"incident"`
}

// Brief is an incident in a few fields, as events carry it.
type Brief struct {
	ID         string    `json:"id"`
	State      State     `json:"state"`
	Class      string    `json:"class"`
	Severity   string    `json:"severity"`
	Cause      string    `json:"cause"`
	Subject    string    `json:"subject"`
	Summary    string    `json:"summary"`
	SubCenters []string  `json:"sub_centers,omitempty"`
	Rooms      []string  `json:"rooms,omitempty"`
	Servers    []string  `json:"servers,omitempty"`
	Paging     bool      `json:"paging"`
	MutedBy    string    `json:"muted_by,omitempty"`
	OpenedAt   time.Time `json:"opened_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	Deadline   time.Time `json:"deadline"`
	Breached   bool      `json:"breached"`
}

// Brief returns the incident in a few fields.
func (inc *Incident) Brief() Brief {
	return Brief{
		ID: inc.ID, State: inc.State, Class: inc.Class, Severity: inc.Severity,
		Cause: inc.Cause, Subject: inc.Subject, Summary: inc.Phenomenon.Summary,
		SubCenters: inc.Place.SubCenters, Rooms: inc.Place.Rooms, Servers: inc.Place.Servers,
		Paging: inc.Paging, MutedBy: inc.MutedBy,
		OpenedAt: inc.OpenedAt, ResolvedAt: inc.ResolvedAt, Deadline: inc.Deadline, Breached: inc.Breached,
	}
}

// eventOf describes the change from before to after (before is the zero
// Incident for a new one), as the last timeline entry says.
func eventOf(after *Incident, kind string) Event {
	ev := Event{Kind: kind, Incident: after.Brief()}
	if n := len(after.Timeline); n > 0 {
		last := after.Timeline[n-1]
		ev.At, ev.Actor, ev.Text = last.At, last.Actor, last.Text
	}
	return ev
}
