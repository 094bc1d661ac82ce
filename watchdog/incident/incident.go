package incident

import (
	"errors"
	"time"
)

// State is where an incident is in its life.
type State string

// The states, in order.
const (
	StateOpen         State = "open"
	StateAcknowledged State = "acknowledged"
	StateMitigated    State = "mitigated"
	StateResolved     State = "resolved"
	StateSignedOff    State = "signed_off"
)

// States lists the states in order.
var States = []State{StateOpen, StateAcknowledged, StateMitigated, StateResolved, StateSignedOff}

// Active reports whether the incident is still being worked on: not yet
// resolved.
func (s State) Active() bool {
	return s == StateOpen || s == StateAcknowledged || s == StateMitigated
}

// Errors callers test for.
var (
	// ErrFrozen: the incident is signed off; its record cannot change.
	ErrFrozen = errors.New("incident is signed off: its record is frozen")
	// ErrTransition: the action does not apply in the incident's state.
	ErrTransition = errors.New("not allowed in this state")
	// ErrNotFound: no incident has that id.
	ErrNotFound = errors.New("no such incident")
	// ErrConflict: the incident changed since it was read (an update lost
	// a race); read it again and retry.
	ErrConflict = errors.New("incident changed concurrently")
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
	// reopened, breached, signed_off.
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// Place is where the fault is: sub-centers, rooms, servers, and the probe
// locations it was seen from.
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
	// Fingerprint is the problem's fingerprint ("server:yz-media-1");
	// Fingerprints every one that led here (a cause refined from a room to
	// its server adds the server's).
	Fingerprint  string   `json:"fingerprint"`
	Fingerprints []string `json:"fingerprints"`
	State        State    `json:"state"`
	// Cause and Subject are what is blamed: server, room or network, and
	// which one; CauseText says it in words.
	Cause     string `json:"cause"`
	Subject   string `json:"subject"`
	CauseText string `json:"cause_text"`
	// Class is the SLA class, ClassRule the rule that gave it.
	Class     string `json:"class"`
	ClassRule string `json:"class_rule,omitempty"`
	Severity  string `json:"severity"`
	// Kinds are the kinds of finding seen; Findings their ids.
	Kinds    []string `json:"kinds,omitempty"`
	Findings []string `json:"findings,omitempty"`
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
	// incident opened.
	DetectedAt     time.Time `json:"detected_at"`
	OpenedAt       time.Time `json:"opened_at"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	MitigatedAt    time.Time `json:"mitigated_at,omitzero"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	SignedOffAt    time.Time `json:"signed_off_at,omitzero"`
	SignedOffBy    string    `json:"signed_off_by,omitempty"`
	// Deadline is when the SLA class says it must be resolved; Breached
	// records that it was not.
	Deadline   time.Time `json:"deadline"`
	Breached   bool      `json:"breached"`
	BreachedAt time.Time `json:"breached_at,omitzero"`
	Reopens    int       `json:"reopens,omitempty"`
	// Version counts the stored changes; updates are compare-and-set on it.
	Version int64 `json:"version"`
}

// HandlingTime is how long the incident took to resolve (处置时长), or has
// taken so far when it is not resolved.
func (inc *Incident) HandlingTime(now time.Time) time.Duration {
	end := inc.ResolvedAt
	if end.IsZero() {
		end = now
	}
	return end.Sub(inc.OpenedAt)
}

// Remaining is the time left to the deadline (negative once past); zero for
// a resolved incident.
func (inc *Incident) Remaining(now time.Time) time.Duration {
	if !inc.State.Active() {
		return 0
	}
	return inc.Deadline.Sub(now)
}

func (inc *Incident) log(at time.Time, actor, kind, text string) {
	inc.Timeline = append(inc.Timeline, Entry{At: at, Actor: actor, Kind: kind, Text: text})
}

// clone returns a deep copy, so pure functions never change their input.
func (inc Incident) clone() Incident {
	inc.Fingerprints = append([]string(nil), inc.Fingerprints...)
	inc.Kinds = append([]string(nil), inc.Kinds...)
	inc.Findings = append([]string(nil), inc.Findings...)
	inc.Timeline = append([]Entry(nil), inc.Timeline...)
	inc.Place = Place{
		SubCenters: append([]string(nil), inc.Place.SubCenters...),
		Rooms:      append([]string(nil), inc.Place.Rooms...),
		Servers:    append([]string(nil), inc.Place.Servers...),
		Locations:  append([]string(nil), inc.Place.Locations...),
	}
	if inc.Phenomenon.Readings != nil {
		r := make(map[string]float64, len(inc.Phenomenon.Readings))
		for k, v := range inc.Phenomenon.Readings {
			r[k] = v
		}
		inc.Phenomenon.Readings = r
	}
	inc.Phenomenon.Errors = append([]string(nil), inc.Phenomenon.Errors...)
	return inc
}
