package correlate

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

// Problem is one fault, as the evidence shows it now: its cause, what it
// touches, and the findings behind it.
type Problem struct {
	// Key is the problem's identity, stable while it lasts and when it
	// comes back: its cause and subject, "server:yz-media-1".
	Key   string      `json:"key"`
	Cause vocab.Cause `json:"cause"`
	// Subject is the server, site, location, room or probe blamed.
	Subject string `json:"subject"`
	// SubCenters is the place: the sub-centers it concerns, whose duty
	// officers are told — those hosting its rooms and servers; for a
	// network path only the location whose line it is, for an uplink only
	// the site whose line it is.
	SubCenters []string `json:"sub_centers,omitempty"`
	// Rooms are the rooms it touches: for a server, every room that depends
	// on it; otherwise the rooms seen in trouble.
	Rooms []string `json:"rooms,omitempty"`
	// Explains are the rooms in trouble now that this problem explains.
	Explains []string `json:"explains,omitempty"`
	Servers  []string `json:"servers,omitempty"`
	// Roles are the roles of Servers.
	Roles []string `json:"roles,omitempty"`
	// Locations and Probes are where it is seen from; Transports over what.
	Locations  []string `json:"locations,omitempty"`
	Probes     []string `json:"probes,omitempty"`
	Transports []string `json:"transports,omitempty"`
	// Findings are the findings behind it (shared with the evidence: not
	// to be changed); Kinds their kinds.
	Findings []*detect.Finding `json:"findings,omitempty"`
	Kinds    []vocab.Kind      `json:"kinds,omitempty"`
	// Evidence says in words why this cause: a server's readings, what
	// each location sees.
	Evidence []string       `json:"evidence,omitempty"`
	Severity vocab.Severity `json:"severity"`
	// Since is when its first symptom began; ClearSince, when set, is when
	// the last of its symptoms stopped (it still waits out clear_after).
	Since      time.Time `json:"since"`
	ClearSince time.Time `json:"clear_since,omitzero"`
	// FadingSince, when set, is when the first of its symptoms stopped
	// while others hold: if the problem goes away without ending (its
	// rooms now explained otherwise), its own trouble ended about then.
	FadingSince time.Time `json:"fading_since,omitzero"`
	// Partial is true for a problem seen from only part of the locations
	// (a network path, an uplink, a probe): it is believed only after it
	// has held for correlate.settle.
	Partial bool `json:"partial,omitempty"`
	// AwaitingHealth lists the servers of a room problem whose latest
	// readings are older than the room's trouble: they should be checked at
	// once, and the room blamed only when they are healthy (or after
	// correlate.health_wait).
	AwaitingHealth []string `json:"awaiting_health,omitempty"`
	// Page is false for probe problems and problems muted by a
	// maintenance window (MutedBy names it).
	Page    bool   `json:"page"`
	MutedBy string `json:"muted_by,omitempty"`
	// Summary says it in one line.
	Summary string `json:"summary"`
}

// Incident reports whether the problem makes an incident: every cause but a
// probe's own.
func (p *Problem) Incident() bool { return p.Cause.Incident() }

// Clearing reports whether every symptom of the problem has stopped.
func (p *Problem) Clearing() bool { return !p.ClearSince.IsZero() }

// builder accumulates one problem.
type builder struct {
	p          Problem
	rooms      set
	explains   set
	servers    set
	probes     set
	locs       set
	transports set
	subs       set
	// findings are kept in the order added (the evidence's order, which
	// is sorted), each once.
	findings []*detect.Finding
	seen     map[*detect.Finding]bool
	evidence []string
	// holding is true once any symptom holds; clear the latest ClearSince,
	// fade the earliest.
	holding bool
	clear   time.Time
	fade    time.Time
}

type set map[string]bool

func (s set) add(xs ...string) {
	for _, x := range xs {
		if x != "" {
			s[x] = true
		}
	}
}

func (s set) sorted() []string { return slices.Sorted(maps.Keys(s)) }

func newBuilder(cause vocab.Cause, subject string) *builder {
	return &builder{
		p:          Problem{Key: cause.Key(subject), Cause: cause, Subject: subject, Page: cause.Incident()},
		rooms:      set{},
		explains:   set{},
		servers:    set{},
		probes:     set{},
		locs:       set{},
		transports: set{},
		subs:       set{},
		seen:       map[*detect.Finding]bool{},
	}
}

// finding adds a finding, once.
func (b *builder) finding(f *detect.Finding) {
	if !b.seen[f] {
		b.seen[f] = true
		b.findings = append(b.findings, f)
	}
}

// symptom records the times of one symptom: when it began, and when it
// stopped (zero while it holds).
func (b *builder) symptom(onset, clearSince time.Time) {
	if !onset.IsZero() && (b.p.Since.IsZero() || onset.Before(b.p.Since)) {
		b.p.Since = onset
	}
	if clearSince.IsZero() {
		b.holding = true
		return
	}
	if clearSince.After(b.clear) {
		b.clear = clearSince
	}
	if b.fade.IsZero() || clearSince.Before(b.fade) {
		b.fade = clearSince
	}
}

// view adds one location's view of a room; its times count for the
// problem's unless timed is false (the location's own path is in trouble,
// so what it sees is not this problem's alone).
func (b *builder) view(room string, v *locView, timed bool) {
	b.rooms.add(room)
	b.explains.add(room)
	b.locs.add(v.location)
	b.probes.add(v.probes...)
	b.transports.add(v.transports...)
	for _, f := range v.findings {
		b.finding(f)
	}
	if timed {
		b.symptom(v.onset, v.clearSince)
	}
}

// finish fills a problem's lists, severity, times and summary.
func (b *builder) finish(t *Topology) Problem {
	p := b.p
	for r := range b.rooms {
		if p.Cause != vocab.CauseNetwork && p.Cause != vocab.CauseUplink {
			b.subs.add(t.Site(r))
		}
	}
	roles := set{}
	for s := range b.servers {
		b.subs.add(t.serverSite[s])
		roles.add(t.serverRole[s])
	}
	if p.Cause == vocab.CauseNetwork || p.Cause == vocab.CauseUplink {
		b.subs.add(p.Subject)
	}
	p.Rooms, p.Explains = b.rooms.sorted(), b.explains.sorted()
	p.Servers, p.Roles = b.servers.sorted(), roles.sorted()
	p.Probes, p.Locations, p.Transports = b.probes.sorted(), b.locs.sorted(), b.transports.sorted()
	p.SubCenters = b.subs.sorted()
	kinds := map[vocab.Kind]bool{}
	p.Findings = b.findings
	for _, f := range b.findings {
		kinds[f.Kind] = true
		p.Severity = vocab.Worse(p.Severity, f.Severity)
	}
	p.Kinds = slices.Sorted(maps.Keys(kinds))
	if p.Severity == "" {
		p.Severity = vocab.SeverityDegraded
	}
	if !b.holding {
		p.ClearSince = b.clear
	} else {
		p.FadingSince = b.fade
	}
	p.Evidence = b.evidence
	p.Summary = summary(&p)
	return p
}

func summary(p *Problem) string {
	what := Describe(p)
	kinds := strings.Join(vocab.Strings(p.Kinds), ", ")
	if kinds == "" {
		kinds = "strained"
	}
	s := fmt.Sprintf("%s: %s (%s)", what, kinds, p.Severity)
	if len(p.Explains) > 0 {
		s += fmt.Sprintf("; rooms in trouble %s", strings.Join(p.Explains, ", "))
	} else if len(p.Rooms) > 0 {
		s += fmt.Sprintf("; rooms %s", strings.Join(p.Rooms, ", "))
	}
	return s
}

// Describe names a problem's cause in a few words: "server yz-media-1",
// "network path to gy".
func Describe(p *Problem) string {
	switch p.Cause {
	case vocab.CauseServer:
		return "server " + p.Subject
	case vocab.CauseUplink:
		return "uplink of " + p.Subject
	case vocab.CauseNetwork:
		return "network path to " + p.Subject
	case vocab.CauseRoom:
		return "room " + p.Subject
	case vocab.CauseProbe:
		return "probe " + p.Subject
	}
	return p.Key
}
