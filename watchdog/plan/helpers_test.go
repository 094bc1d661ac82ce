package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// t0 is when the fixtures' troubles begin.
var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// policy is the default one: settle 3 s, health_wait 5 s, takeover_grace
// 35 s, reopen_within 30 min, deadlines 1 h / 2 h / 4 h / 24 h.
func policy() Policy { return PolicyOf(config.DefaultWatchdog()) }

const (
	hall1  = "yz-hall-1"
	hall2  = "yz-hall-2"
	hall3  = "yz-hall-3"
	media1 = "yz-media-1"
	media2 = "yz-media-2"
	media3 = "yz-media-3"
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func latency(room string, p95 float64) detect.Finding {
	return detect.Finding{Kind: vocab.KindLatency, Severity: vocab.SeverityDegraded, Room: room, Probe: "yz-p1", Location: "yz", Transport: "ws",
		Onset: t0, FiredAt: t0, Figures: detect.Figures{RTTP95MS: p95, RTTMaxMS: p95 + 80}, Text: "RTT p95 above 300 ms"}
}

// problem builds a problem as correlation would: degraded latency in each
// of its rooms (the rooms in trouble it explains) since t0; a server
// problem adds its server's saturation.
func problem(cause vocab.Cause, subject string, rooms ...string) correlate.Problem {
	p := correlate.Problem{Key: cause.Key(subject), Cause: cause, Subject: subject, SubCenters: []string{"yz"},
		Rooms: slices.Clone(rooms), Explains: slices.Clone(rooms), Locations: []string{"yz"}, Probes: []string{"yz-p1"},
		Severity: vocab.SeverityDegraded, Since: t0, Page: cause.Incident()}
	for _, r := range rooms {
		p.Findings = append(p.Findings, ref(latency(r, 420)))
	}
	p.Kinds = []vocab.Kind{vocab.KindLatency}
	if cause == vocab.CauseServer {
		p.Servers, p.Roles = []string{subject}, []string{"media"}
		p.Findings = append(p.Findings, &detect.Finding{Kind: vocab.KindSaturation, Severity: vocab.SeverityDegraded, Server: subject, Reading: "cpu_pct",
			Onset: t0, FiredAt: t0, Figures: detect.Figures{Value: 97, Limit: 90}, Text: "cpu_pct above 90"})
		p.Kinds = append(p.Kinds, vocab.KindSaturation)
	}
	p.Summary = correlate.Describe(&p) + " in trouble"
	return p
}

// Variations of a problem.

func clearing(p correlate.Problem, since time.Duration) correlate.Problem {
	p.ClearSince = at(since)
	return p
}

func fading(p correlate.Problem, since time.Duration) correlate.Problem {
	p.FadingSince = at(since)
	return p
}

func partial(p correlate.Problem) correlate.Problem {
	p.Partial = true
	return p
}

func awaiting(p correlate.Problem, servers ...string) correlate.Problem {
	p.AwaitingHealth = servers
	return p
}

// worse is the problem with worse figures only.
func worse(p correlate.Problem, p95 float64) correlate.Problem {
	p.Findings = deepFindings(p.Findings)
	for _, f := range p.Findings {
		if f.Kind == vocab.KindLatency {
			f.Figures.RTTP95MS = p95
		}
	}
	return p
}

// dropped is the problem with a new finding: participants dropped.
func dropped(p correlate.Problem) correlate.Problem {
	p.Findings = append(slices.Clone(p.Findings), &detect.Finding{Kind: vocab.KindDropout, Severity: vocab.SeverityCritical, Room: p.Explains[0], Probe: "yz-p1",
		Onset: t0, FiredAt: t0, Figures: detect.Figures{Down: 3, Dropouts: 3}, Text: "participants dropped"})
	p.Kinds = append(slices.Clone(p.Kinds), vocab.KindDropout)
	slices.Sort(p.Kinds)
	p.Severity = vocab.SeverityCritical
	return p
}

var (
	pA  = problem(vocab.CauseRoom, hall1, hall1)
	pB  = problem(vocab.CauseRoom, hall2, hall2)
	pS  = problem(vocab.CauseServer, media1, hall1, hall2) // explains both rooms
	pS1 = problem(vocab.CauseServer, media1, hall1)        // the same server, one room
	pN  = problem(vocab.CauseNetwork, "gy", hall1)
	pU  = problem(vocab.CauseUplink, "yz", hall1, hall2)
)

// view is what correlation sees: the problems, their rooms in trouble, and
// rooms seen fine or not seen at all.
func view(problems []correlate.Problem, ok, unknown []string) correlate.Result {
	r := correlate.Result{Problems: slices.Clone(problems), Rooms: map[string]vocab.View{}}
	slices.SortFunc(r.Problems, func(a, b correlate.Problem) int { return strings.Compare(a.Key, b.Key) })
	for _, p := range problems {
		for _, room := range p.Explains {
			r.Rooms[room] = vocab.ViewDegraded
		}
	}
	for _, room := range ok {
		r.Rooms[room] = vocab.ViewOK
	}
	for _, room := range unknown {
		r.Rooms[room] = vocab.ViewUnknown
	}
	return r
}

// opened is a stored incident of a problem opened at a time.
func opened(id string, p correlate.Problem, when time.Duration) incident.Incident {
	inc := incident.Open(p, at(when), policy().Incidents)
	inc.ID, inc.Version = id, 1
	return inc
}

func must(t *testing.T, inc incident.Incident, a incident.Action) incident.Incident {
	t.Helper()
	out, err := incident.Apply(inc, a, policy().Incidents)
	if err != nil {
		t.Fatalf("%s %s: %v", a.Kind, inc.ID, err)
	}
	return out
}

func resolved(t *testing.T, inc incident.Incident, when time.Duration) incident.Incident {
	t.Helper()
	return must(t, inc, incident.Action{Kind: incident.ActResolve, Actor: "张工", At: at(when), Text: "fixed by hand"})
}

func signedOff(t *testing.T, inc incident.Incident, when time.Duration) incident.Incident {
	t.Helper()
	return must(t, resolved(t, inc, when), incident.Action{Kind: incident.ActSignOff, Actor: "李主任", At: at(when)})
}

// seenAt is the incident after its problem was last seen at a time.
func seenAt(inc incident.Incident, p correlate.Problem, when time.Duration) incident.Incident {
	out, _ := incident.Observe(inc, p, at(when), policy().Incidents)
	return out
}

func clearingSince(inc incident.Incident, since time.Duration) incident.Incident {
	inc.ClearingSince = at(since)
	return inc
}

// show renders an action for comparison: its String, when it takes effect
// (since t0) and, for an update, whether it is material.
func show(a Action) string {
	s := a.String()
	if !a.At.IsZero() {
		s += " at " + a.At.Sub(t0).String()
	}
	if a.Kind == Update {
		s += fmt.Sprintf(" material=%v", a.Material)
	}
	return s
}

func shows(as []Action) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, show(a))
	}
	return out
}

// bookLines renders a book, one key a line, times since t0.
func bookLines(b Book) []string {
	out := []string{}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		tr := b[k]
		since, fade := "-", "-"
		if !tr.Since.IsZero() {
			since = tr.Since.Sub(t0).String()
		}
		if !tr.Fading.IsZero() {
			fade = tr.Fading.Sub(t0).String()
		}
		inc := tr.Incident
		if inc == "" {
			inc = "-"
		}
		out = append(out, fmt.Sprintf("%s present=%v since=%s incident=%s fading=%s", k, tr.Present, since, inc, fade))
	}
	return out
}

// ref points at a copy of f.
func ref(f detect.Finding) *detect.Finding { return &f }

// deepFindings copies the findings themselves, so a test can change them.
func deepFindings(fs []*detect.Finding) []*detect.Finding {
	out := make([]*detect.Finding, len(fs))
	for i, f := range fs {
		out[i] = ref(*f)
	}
	return out
}
