package incident

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

// t0 is when the fixtures' troubles begin.
var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func policy() config.IncidentPolicy { return config.DefaultWatchdog().Incidents }

const (
	hall1  = "yz-hall-1"
	hall2  = "yz-hall-2"
	hall3  = "yz-hall-3"
	media1 = "yz-media-1"
)

func latency(room string, p95 float64, fired time.Time) detect.Finding {
	return detect.Finding{Kind: vocab.KindLatency, Severity: vocab.SeverityDegraded, Room: room, Probe: "yz-p1", Location: "yz", Transport: "ws",
		Onset: fired.Add(-10 * time.Second), FiredAt: fired, Figures: detect.Figures{RTTP95MS: p95, RTTMaxMS: p95 + 80}, Text: "RTT p95 above 300 ms"}
}

func dropout(room string, down int, fired time.Time) detect.Finding {
	return detect.Finding{Kind: vocab.KindDropout, Severity: vocab.SeverityCritical, Room: room, Probe: "yz-p1", Location: "yz", Transport: "ws",
		Onset: fired, FiredAt: fired, Figures: detect.Figures{Down: down, Dropouts: down, Error: "read: connection reset"}, Text: "participants dropped"}
}

func saturated(server, reading string, v float64, fired time.Time) detect.Finding {
	return detect.Finding{Kind: vocab.KindSaturation, Severity: vocab.SeverityDegraded, Server: server, Reading: reading,
		Onset: fired.Add(-30 * time.Second), FiredAt: fired, Figures: detect.Figures{Value: v, Limit: 90}, Text: reading + " above its limit"}
}

func serverDown(server string, fails int, fired time.Time) detect.Finding {
	return detect.Finding{Kind: vocab.KindServerDown, Severity: vocab.SeverityCritical, Server: server, Check: "tcp",
		Onset: fired.Add(-5 * time.Second), FiredAt: fired, Figures: detect.Figures{Failures: fails, Error: "dial tcp: connection refused"}, Text: "health check failing"}
}

// problem builds a problem as correlation would: its rooms are the rooms
// in trouble it explains; a server problem blames its subject, a media
// server.
func problem(cause vocab.Cause, subject string, rooms []string, fs ...detect.Finding) correlate.Problem {
	p := correlate.Problem{Key: cause.Key(subject), Cause: cause, Subject: subject,
		SubCenters: []string{"yz"}, Rooms: slices.Clone(rooms), Explains: slices.Clone(rooms), Locations: []string{"yz"}, Page: true}
	if cause == vocab.CauseServer {
		p.Servers, p.Roles = []string{subject}, []string{"media"}
	}
	for _, f := range fs {
		p.Findings = append(p.Findings, ref(f))
		if !slices.Contains(p.Kinds, f.Kind) {
			p.Kinds = append(p.Kinds, f.Kind)
		}
		p.Severity = vocab.Worse(p.Severity, f.Severity)
		if p.Since.IsZero() || f.Onset.Before(p.Since) {
			p.Since = f.Onset
		}
	}
	slices.Sort(p.Kinds)
	if p.Severity == "" {
		p.Severity = vocab.SeverityDegraded
	}
	p.Summary = fmt.Sprintf("%s: %s (%s)", correlate.Describe(&p), strings.Join(vocab.Strings(p.Kinds), ", "), p.Severity)
	return p
}

// roomProblem is a room's own latency at t0.
func roomProblem(room string, p95 float64) correlate.Problem {
	return problem(vocab.CauseRoom, room, []string{room}, latency(room, p95, t0))
}

// serverProblem is a saturated media server lagging its rooms.
func serverProblem(rooms ...string) correlate.Problem {
	fs := []detect.Finding{saturated(media1, "cpu_pct", 97, t0)}
	for _, r := range rooms {
		fs = append(fs, latency(r, 450, t0))
	}
	return problem(vocab.CauseServer, media1, rooms, fs...)
}

// opened is a stored incident: Open's result with an id.
func opened(id string, p correlate.Problem, at time.Time) Incident {
	inc := Open(p, at, policy())
	inc.ID, inc.Version = id, 1
	return inc
}

// must applies an action that must succeed.
func must(t *testing.T, inc Incident, a Action) Incident {
	t.Helper()
	out, err := Apply(inc, a, policy())
	if err != nil {
		t.Fatalf("%s %s: %v", a.Kind, inc.ID, err)
	}
	return out
}

// unchanged fails the test when a pure function changed its input.
func unchanged(t *testing.T, what string, before, after Incident) {
	t.Helper()
	if !reflect.DeepEqual(before, after) {
		t.Errorf("%s changed its input:\nbefore %+v\n after %+v", what, before, after)
	}
}

// kinds lists the timeline's entry kinds.
func kinds(tl []Entry) []string {
	out := make([]string, len(tl))
	for i, e := range tl {
		out[i] = e.Kind
	}
	return out
}

// inOrder fails the test unless the timeline is in time order.
func inOrder(t *testing.T, tl []Entry) {
	t.Helper()
	for i := 1; i < len(tl); i++ {
		if tl[i].At.Before(tl[i-1].At) {
			t.Errorf("timeline out of order at %d: %s %s (%s) before %s %s (%s)", i,
				tl[i-1].Kind, tl[i-1].At.Format(time.RFC3339), tl[i-1].Text, tl[i].Kind, tl[i].At.Format(time.RFC3339), tl[i].Text)
		}
	}
}

// entry returns the last timeline entry of a kind, or fails the test.
func entry(t *testing.T, inc Incident, kind string) Entry {
	t.Helper()
	for i := len(inc.Timeline) - 1; i >= 0; i-- {
		if inc.Timeline[i].Kind == kind {
			return inc.Timeline[i]
		}
	}
	t.Fatalf("%s: no %q entry in %q", inc.ID, kind, kinds(inc.Timeline))
	return Entry{}
}

func count(tl []Entry, kind string) int {
	n := 0
	for _, e := range tl {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// ref points at a copy of f.
func ref(f detect.Finding) *detect.Finding { return &f }
