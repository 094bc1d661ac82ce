package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

func problem(cause correlate.Cause, subject string, rooms []string, fs ...detect.Finding) correlate.Problem {
	p := correlate.Problem{Fingerprint: string(cause) + ":" + subject, Cause: cause, Subject: subject, Rooms: rooms, SubCenters: []string{"yz"}, Page: true, Summary: string(cause) + " " + subject}
	for _, f := range fs {
		p.Findings = append(p.Findings, f)
		p.Kinds = append(p.Kinds, string(f.Kind))
		p.Severity = detect.Worse(p.Severity, f.Severity)
		if p.Since.IsZero() || f.Onset.Before(p.Since) {
			p.Since = f.Onset
		}
	}
	return p
}

func latency(room string, p95 float64, onset time.Time) detect.Finding {
	return detect.Finding{Kind: detect.KindLatency, Severity: detect.SeverityDegraded, Room: room, Probe: "p1", Location: "yz", Onset: onset, FiredAt: onset,
		Figures: detect.Figures{RTTP95MS: p95, RTTMaxMS: p95 + 50}, Text: "RTT p95 high"}
}

func dropout(room string, down int, onset time.Time) detect.Finding {
	return detect.Finding{Kind: detect.KindDropout, Severity: detect.SeverityCritical, Room: room, Probe: "p1", Location: "yz", Onset: onset, FiredAt: onset,
		Figures: detect.Figures{Down: down, Dropouts: down, Error: "read: connection reset"}, Text: "participants down"}
}

func TestNewIncident(t *testing.T) {
	p := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, latency("yz-hall-1", 420, t0.Add(-2*time.Second)))
	inc := New(p, t0, policy())
	if inc.State != StateOpen || inc.Class != config.ClassMinor || !inc.Deadline.Equal(t0.Add(time.Hour)) || !inc.DetectedAt.Equal(t0.Add(-2*time.Second)) {
		t.Fatalf("incident %+v", inc)
	}
	if inc.Phenomenon.RTTP95MS != 420 || inc.Phenomenon.RTTMaxMS != 470 || inc.Place.Rooms[0] != "yz-hall-1" || !strings.Contains(inc.CauseText, "room/application yz-hall-1") {
		t.Errorf("record %+v", inc)
	}
	if len(inc.Timeline) != 2 || inc.Timeline[0].Kind != "opened" || inc.Timeline[1].Kind != "detected" {
		t.Errorf("timeline %+v", inc.Timeline)
	}
}

func TestUpdate(t *testing.T) {
	pol := policy()
	pol.ReopenWithin = 10 * time.Minute
	base := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, latency("yz-hall-1", 420, t0))
	inc := New(base, t0, pol)

	t.Run("the same problem again changes nothing", func(t *testing.T) {
		if _, o := Update(inc, base, t0.Add(time.Second), pol); o != Unchanged {
			t.Fatalf("outcome %s", o)
		}
	})
	t.Run("better figures change nothing, worse ones are kept", func(t *testing.T) {
		better := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, latency("yz-hall-1", 350, t0))
		if _, o := Update(inc, better, t0.Add(time.Second), pol); o != Unchanged {
			t.Fatalf("better: %s", o)
		}
		worse := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, latency("yz-hall-1", 800, t0))
		out, o := Update(inc, worse, t0.Add(time.Second), pol)
		if o != Figures || out.Phenomenon.RTTP95MS != 800 || inc.Phenomenon.RTTP95MS != 420 {
			t.Fatalf("worse: %s, %g (input now %g)", o, out.Phenomenon.RTTP95MS, inc.Phenomenon.RTTP95MS)
		}
	})
	t.Run("a dropout raises severity and class", func(t *testing.T) {
		p := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, latency("yz-hall-1", 420, t0), dropout("yz-hall-1", 3, t0.Add(time.Second)))
		out, o := Update(inc, p, t0.Add(2*time.Second), pol)
		if o != Updated || out.Severity != "critical" || out.Class != config.ClassPartial || !out.Deadline.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("%s: severity %s class %s deadline %s", o, out.Severity, out.Class, out.Deadline)
		}
		if out.Phenomenon.ParticipantsDown != 3 || out.Phenomenon.Errors[0] != "read: connection reset" {
			t.Errorf("phenomenon %+v", out.Phenomenon)
		}
	})
	t.Run("a server takes over the room's incident", func(t *testing.T) {
		p := problem(correlate.CauseServer, "yz-media-1", []string{"yz-coord-1", "yz-hall-1", "yz-hall-2"}, latency("yz-hall-1", 420, t0))
		p.Servers, p.Roles = []string{"yz-media-1"}, []string{"media"}
		out, o := Update(inc, p, t0.Add(3*time.Second), pol)
		if o != Updated || out.Cause != "server" || out.Subject != "yz-media-1" || out.Fingerprint != "server:yz-media-1" || len(out.Fingerprints) != 2 {
			t.Fatalf("%s: %+v", o, out)
		}
		if strings.Join(out.Place.Rooms, ",") != "yz-coord-1,yz-hall-1,yz-hall-2" || out.Class != config.ClassPartial {
			t.Errorf("rooms %v class %s", out.Place.Rooms, out.Class)
		}
	})

	resolved, err := Apply(inc, Action{Kind: ActResolve, Actor: Actor, At: t0.Add(time.Minute)}, pol)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("symptoms from before a resolve do not reopen", func(t *testing.T) {
		if _, o := Update(resolved, base, t0.Add(2*time.Minute), pol); o != Unchanged {
			t.Fatalf("outcome %s", o)
		}
	})
	t.Run("a relapse within the reopen time reopens", func(t *testing.T) {
		relapse := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, latency("yz-hall-1", 420, t0.Add(5*time.Minute)))
		out, o := Update(resolved, relapse, t0.Add(5*time.Minute), pol)
		if o != Reopened || out.State != StateOpen || out.Reopens != 1 || !out.ResolvedAt.IsZero() {
			t.Fatalf("%s: %+v", o, out)
		}
	})
	t.Run("a relapse after the reopen time needs a new incident", func(t *testing.T) {
		relapse := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, latency("yz-hall-1", 420, t0.Add(20*time.Minute)))
		if _, o := Update(resolved, relapse, t0.Add(20*time.Minute), pol); o != Expired {
			t.Fatalf("outcome %s", o)
		}
	})
	t.Run("a signed-off incident is never reopened", func(t *testing.T) {
		signed, err := Apply(resolved, Action{Kind: ActSignOff, Actor: "李主任", At: t0.Add(2 * time.Minute)}, pol)
		if err != nil {
			t.Fatal(err)
		}
		relapse := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, latency("yz-hall-1", 420, t0.Add(3*time.Minute)))
		if _, o := Update(signed, relapse, t0.Add(3*time.Minute), pol); o != Expired {
			t.Fatalf("outcome %s", o)
		}
	})
	t.Run("maintenance starts and ends", func(t *testing.T) {
		muted := base
		muted.Page, muted.MutedBy = false, "upgrade"
		out, o := Update(inc, muted, t0.Add(time.Second), pol)
		if o != Updated || out.Paging || out.MutedBy != "upgrade" {
			t.Fatalf("%s %+v", o, out)
		}
		back, o := Update(out, base, t0.Add(2*time.Second), pol)
		if o != Updated || !back.Paging {
			t.Fatalf("%s %+v", o, back)
		}
	})
}
