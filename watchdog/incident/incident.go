package incident

import (
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// State is where an incident is in its life.
type State string

// The states, in order. Merged is a side exit: the record was taken into
// another incident (a room's into its server's) and lives on there.
const (
	StateOpen         State = "open"
	StateAcknowledged State = "acknowledged"
	StateMitigated    State = "mitigated"
	StateResolved     State = "resolved"
	StateSignedOff    State = "signed_off"
	StateMerged       State = "merged"
)

// States lists the states in order.
var States = []State{StateOpen, StateAcknowledged, StateMitigated, StateResolved, StateSignedOff, StateMerged}

// Active reports whether the incident is still being worked on: not yet
// resolved, nor merged.
func (s State) Active() bool {
	return s == StateOpen || s == StateAcknowledged || s == StateMitigated
}

// Chinese names the state for people.
func (s State) Chinese() string {
	switch s {
	case StateOpen:
		return "待处理"
	case StateAcknowledged:
		return "已接单"
	case StateMitigated:
		return "已缓解"
	case StateResolved:
		return "已排除"
	case StateSignedOff:
		return "已签字认可"
	case StateMerged:
		return "已合并"
	}
	return string(s)
}

// Errors callers test for. Every refused action wraps one of them.
var (
	// ErrFrozen: the incident is signed off; its record cannot change.
	ErrFrozen = errors.New("incident is signed off: its record is frozen")
	// ErrMerged: the incident was merged into another; act on that one.
	ErrMerged = errors.New("incident was merged into another")
	// ErrTransition: the action does not apply in the incident's state.
	ErrTransition = errors.New("not allowed in this state")
	// ErrNotFound: no incident has that id.
	ErrNotFound = errors.New("no such incident")
	// ErrConflict: the incident changed since it was read (an update lost
	// a race); read it again and retry.
	ErrConflict = errors.New("incident changed concurrently")
	// ErrBadAction: the action itself is wrong: no actor, an empty note,
	// an unknown class or kind.
	ErrBadAction = errors.New("bad action")
	// ErrNoChange: a change function found nothing to change; the store
	// writes nothing.
	ErrNoChange = errors.New("nothing to change")
)

// Actor is who the watchdog's own actions are recorded as.
const Actor = "watchdog"

// Entry is one line of the handling process (处置过程): what happened, when,
// and who did it.
type Entry struct {
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	// Kind is what happened: opened, detected, cause, updated, muted,
	// paging, reclassified, acknowledged, mitigated, note, resolved,
	// reopened, breached, merged, signed_off.
	Kind string `json:"kind"`
	Text string `json:"text"`
	// From names the incident an entry was carried over from by a merge.
	From string `json:"from,omitempty"`
}

// Place is where the fault is: the sub-centers it concerns (whose duty
// officers are told), its rooms and servers, and the probe locations it was
// seen from.
type Place struct {
	SubCenters []string `json:"sub_centers,omitempty"`
	Rooms      []string `json:"rooms,omitempty"`
	Servers    []string `json:"servers,omitempty"`
	Locations  []string `json:"locations,omitempty"`
}

// Phenomenon is what was seen (故障现象): a summary and the worst figures
// while the incident was open.
type Phenomenon struct {
	Summary string `json:"summary"`
	// Worst round-trip figures: the p95 over the latency window, and the
	// largest single RTT.
	RTTP95MS float64 `json:"rtt_p95_ms,omitempty"`
	RTTMaxMS float64 `json:"rtt_max_ms,omitempty"`
	// StutterPct is the worst share of time stuttering; FreezeMS the
	// stutter time behind it.
	StutterPct float64 `json:"stutter_pct,omitempty"`
	FreezeMS   float64 `json:"freeze_ms,omitempty"`
	// ParticipantsDown is the most participants down at once; Dropouts the
	// most dropouts in one window.
	ParticipantsDown int     `json:"participants_down,omitempty"`
	Dropouts         int     `json:"dropouts,omitempty"`
	OutageMS         float64 `json:"outage_ms,omitempty"`
	// HealthFailures is the longest run of failed health checks.
	HealthFailures int `json:"health_failures,omitempty"`
	// Readings are the worst health readings beyond their limits, keyed
	// "server reading" ("yz-media-1 cpu_pct").
	Readings map[string]float64 `json:"readings,omitempty"`
	// Errors are distinct errors seen (at most a few).
	Errors []string `json:"errors,omitempty"`
}

// Incident is one fault and its record.
type Incident struct {
	ID string `json:"id"`
	// Key is its problem's cause key ("server:yz-media-1"): its identity.
	// A cause refined or lowered changes it (the timeline says so).
	Key   string `json:"key"`
	State State  `json:"state"`
	// Cause and Subject are what is blamed: server, uplink, network or
	// room, and which one; CauseText says it in words, with the evidence.
	Cause     vocab.Cause `json:"cause"`
	Subject   string      `json:"subject"`
	CauseText string      `json:"cause_text"`
	// Class is the SLA class, ClassRule the rule that gave it.
	Class     vocab.Class    `json:"class"`
	ClassRule string         `json:"class_rule,omitempty"`
	Severity  vocab.Severity `json:"severity"`
	// Kinds are the kinds of finding seen; Findings their ids.
	Kinds    []vocab.Kind `json:"kinds,omitempty"`
	Findings []string     `json:"findings,omitempty"`
	// Paging is false while a maintenance window covers it (MutedBy names
	// the window).
	Paging     bool       `json:"paging"`
	MutedBy    string     `json:"muted_by,omitempty"`
	Place      Place      `json:"place"`
	Phenomenon Phenomenon `json:"phenomenon"`
	Timeline   []Entry    `json:"timeline"`
	// Result is how it ended (处置结果).
	Result string `json:"result,omitempty"`
	// DetectedAt is when the first symptom began; OpenedAt when the
	// incident opened; ResolvedAt when its symptoms ended (or when a person
	// resolved it).
	DetectedAt     time.Time `json:"detected_at"`
	OpenedAt       time.Time `json:"opened_at"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	MitigatedAt    time.Time `json:"mitigated_at,omitzero"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	SignedOffAt    time.Time `json:"signed_off_at,omitzero"`
	SignedOffBy    string    `json:"signed_off_by,omitempty"`
	// ClearingSince, while set, is when its symptoms stopped: the watchdog
	// waits out clear_after before it resolves it (and then resolves it as
	// of this time). Zero while a symptom holds.
	ClearingSince time.Time `json:"clearing_since,omitzero"`
	// LastSeen is the last time the watchdog saw its problem.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Explains are the rooms in trouble its problem explained when last
	// seen.
	Explains []string `json:"explains,omitempty"`
	// Unobserved is set while its problem is out of sight with nothing
	// seen to end it (the probes that saw it are silent or stopped).
	Unobserved bool `json:"unobserved,omitempty"`
	// MergedInto names the incident this one was merged into; MergedFrom
	// the ones merged into this one. A merged record counts once: in the
	// incident it was merged into.
	MergedInto string   `json:"merged_into,omitempty"`
	MergedFrom []string `json:"merged_from,omitempty"`
	// Deadline is when the SLA class says it must be resolved; Breached
	// records that it was not.
	Deadline   time.Time `json:"deadline"`
	Breached   bool      `json:"breached"`
	BreachedAt time.Time `json:"breached_at,omitzero"`
	Reopens    int       `json:"reopens,omitempty"`
	// ReopenedAt is when a relapse last reopened it; PriorHandling the
	// handling time of its spells before that.
	ReopenedAt    time.Time     `json:"reopened_at,omitzero"`
	PriorHandling time.Duration `json:"prior_handling_ns,omitempty"`
	// Version counts the stored changes; updates are compare-and-set on it.
	Version int64 `json:"version"`
}

// HandlingTime is how long the incident took to resolve (处置时长), or has
// taken so far when it is not resolved: from opening to resolution, and for
// an incident a relapse reopened, the sum of its spells (the quiet time in
// between does not count); zero for a merged record (its time counts in the
// incident it was merged into).
func (inc *Incident) HandlingTime(now time.Time) time.Duration {
	if inc.State == StateMerged {
		return 0
	}
	end := inc.ResolvedAt
	if end.IsZero() {
		end = now
	}
	return inc.PriorHandling + max(end.Sub(inc.spellStart()), 0)
}

// spellStart is when its current spell began: its opening, or its latest
// reopening.
func (inc *Incident) spellStart() time.Time {
	if !inc.ReopenedAt.IsZero() {
		return inc.ReopenedAt
	}
	return inc.OpenedAt
}

// Remaining is the time left to the deadline (negative once past); zero for
// an incident no longer active.
func (inc *Incident) Remaining(now time.Time) time.Duration {
	if !inc.State.Active() {
		return 0
	}
	return inc.Deadline.Sub(now)
}

// Counted reports whether the incident counts as one in exports and
// reports: every incident but a merged one.
func (inc *Incident) Counted() bool { return inc.State != StateMerged }

// log adds a timeline entry, keeping the timeline in time order (entries at
// the same time keep the order they were added in).
func (inc *Incident) log(at time.Time, actor, kind, text string) {
	inc.insert(Entry{At: at, Actor: actor, Kind: kind, Text: text})
}

func (inc *Incident) insert(e Entry) {
	i := len(inc.Timeline)
	for i > 0 && inc.Timeline[i-1].At.After(e.At) {
		i--
	}
	inc.Timeline = slices.Insert(inc.Timeline, i, e)
}

// Log appends a timeline entry.
func (inc *Incident) Log(at time.Time, actor, kind, text string) { inc.log(at, actor, kind, text) }

// clone returns a deep copy, so pure functions never change their input.
func (inc Incident) clone() Incident {
	inc.Kinds = slices.Clone(inc.Kinds)
	inc.Findings = slices.Clone(inc.Findings)
	inc.Timeline = slices.Clone(inc.Timeline)
	inc.Explains = slices.Clone(inc.Explains)
	inc.MergedFrom = slices.Clone(inc.MergedFrom)
	inc.Place = Place{
		SubCenters: slices.Clone(inc.Place.SubCenters),
		Rooms:      slices.Clone(inc.Place.Rooms),
		Servers:    slices.Clone(inc.Place.Servers),
		Locations:  slices.Clone(inc.Place.Locations),
	}
	inc.Phenomenon.Readings = maps.Clone(inc.Phenomenon.Readings)
	inc.Phenomenon.Errors = slices.Clone(inc.Phenomenon.Errors)
	return inc
}
