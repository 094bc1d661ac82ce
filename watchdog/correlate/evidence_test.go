package correlate_test

import (
	"cmp"
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

// The tests run on the demo city: sub-centers yz, jd, yzg, gy and by; the
// rooms yz-hall-1, yz-hall-2 and yz-coord-1 on yz-web-1, yz-wsgw-1,
// yz-media-1 and yz-db-1 (in that order); jd-hall-1 and jd-coord-1 on jd's
// four servers; yzg-hall-1; gy-hall-1 and gy-coord-1; by-hall-1. Probe
// locations are named after the sub-center whose network they sit in.

var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// at is t0 plus s seconds.
func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// seen is what one probe sees of one room over one transport.
type seen struct {
	loc, room, probe, transport string
	view                        vocab.View
	onset, clear                time.Time
}

// look is the view of room from location loc's probe p-<loc> over ws; a bad
// view's trouble began at 30 s and holds.
func look(loc, room string, v vocab.View) seen {
	return seen{loc: loc, room: room, probe: "p-" + loc, transport: "ws", view: v, onset: at(30)}
}

func ok(loc, room string) seen      { return look(loc, room, vocab.ViewOK) }
func slow(loc, room string) seen    { return look(loc, room, vocab.ViewDegraded) }
func down(loc, room string) seen    { return look(loc, room, vocab.ViewDown) }
func unknown(loc, room string) seen { return look(loc, room, vocab.ViewUnknown) }

func (s seen) by(probe string) seen       { s.probe = probe; return s }
func (s seen) over(transport string) seen { s.transport = transport; return s }
func (s seen) since(t time.Time) seen     { s.onset = t; return s }
func (s seen) cleared(t time.Time) seen   { s.clear = t; return s }

// sick is a server view: its state since 20 s, with the finding behind it.
type sick struct {
	v         detect.ServerView
	unchecked bool
}

func server(id string, st detect.ServerState) sick {
	v := detect.ServerView{ID: id, State: st, Checks: 2}
	if st.Sick() {
		v.Since = at(20)
	}
	return sick{v: v}
}

func (s sick) since(t time.Time) sick  { s.v.Since = t; return s }
func (s sick) clears(t time.Time) sick { s.v.ClearSince = t; return s }
func (s sick) last(since, until time.Time) sick {
	s.v.Last = &detect.Episode{Since: since, Until: until}
	return s
}
func (s sick) checked(t time.Time) sick { s.v.CheckedAt = t; return s }
func (s sick) neverChecked() sick       { s.unchecked = true; return s }
func (s sick) failing() sick            { s.v.Failing = true; return s }
func (s sick) checks(n int) sick        { s.v.Checks = n; return s }

// view fills the server's findings, evidence and last spell for its state;
// CheckedAt is the evidence's time unless set.
func (s sick) view(now time.Time) detect.ServerView {
	v := s.v
	if v.CheckedAt.IsZero() && !s.unchecked {
		v.CheckedAt = now
	}
	if v.State.Sick() && v.Last == nil {
		v.Last = &detect.Episode{Since: v.Since, Until: v.ClearSince}
	}
	switch v.State {
	case detect.ServerDown:
		v.Findings = []detect.Finding{{Kind: vocab.KindServerDown, Severity: vocab.SeverityCritical, Server: v.ID, Check: "http[0]",
			Onset: v.Since, FiredAt: v.Since, ClearSince: v.ClearSince, Text: "http check failed 2 times in a row"}}
		v.Evidence = []string{"http check failed 2 times in a row"}
	case detect.ServerSaturated:
		v.Findings = []detect.Finding{{Kind: vocab.KindSaturation, Severity: vocab.SeverityDegraded, Server: v.ID, Reading: "cpu_pct",
			Onset: v.Since, FiredAt: v.Since, ClearSince: v.ClearSince, Text: "cpu_pct 97.0 above 90"}}
		v.Evidence = []string{"cpu_pct 97.0 above 90"}
	case detect.ServerStrained:
		v.Evidence = []string{"cpu_pct 97.0 above 90 (not yet for 30s)"}
	}
	return v
}

// scene is the evidence of one moment, built by hand.
type scene struct {
	// at is the evidence's time; zero is 60 s.
	at   time.Time
	seen []seen
	// servers override the healthy default (ok, both checks read at the
	// evidence's time) of the demo city's servers.
	servers []sick
	// silent probes' heartbeats are overdue since 10 s.
	silent []string
	// maintain are the city's maintenance windows.
	maintain []config.MaintenanceSpec
}

func (sc scene) now() time.Time {
	if sc.at.IsZero() {
		return at(60)
	}
	return sc.at
}

// evidence builds what detect.Engine.Evidence would say.
func (sc scene) evidence(city *config.Config) detect.Evidence {
	now := sc.now()
	ev := detect.Evidence{At: now, Servers: map[string]detect.ServerView{}, Probes: map[string]detect.ProbeView{}}
	for _, s := range city.Servers {
		ev.Servers[s.ID] = server(s.ID, detect.ServerOK).view(now)
	}
	for _, s := range sc.servers {
		ev.Servers[s.v.ID] = s.view(now)
	}
	for _, s := range sc.seen {
		sv := detect.SeriesView{Room: s.room, Probe: s.probe, Location: s.loc, Transport: s.transport, View: s.view}
		if s.view.Bad() {
			f := detect.Finding{Kind: vocab.KindLatency, Severity: vocab.SeverityDegraded, Room: s.room, Probe: s.probe,
				Location: s.loc, Transport: s.transport, Onset: s.onset, FiredAt: s.onset, ClearSince: s.clear,
				Text: "RTT p95 800 ms over 10s (limit 300 ms)"}
			if s.view == vocab.ViewDown {
				f.Kind, f.Severity, f.Text = vocab.KindDropout, vocab.SeverityCritical, "2 of 2 participants down"
			}
			sv.Findings = []detect.Finding{f}
			sv.Onset, sv.ClearSince = s.onset, s.clear
		}
		ev.Series = append(ev.Series, sv)
		ev.Probes[s.probe] = detect.ProbeView{ID: s.probe, Location: s.loc}
	}
	slices.SortFunc(ev.Series, func(a, b detect.SeriesView) int {
		return cmp.Or(cmp.Compare(a.Room, b.Room), cmp.Compare(a.Transport, b.Transport), cmp.Compare(a.Probe, b.Probe))
	})
	for _, id := range sc.silent {
		pv := ev.Probes[id]
		pv.ID, pv.Silent = id, true
		if pv.Location == "" {
			pv.Location, _ = strings.CutPrefix(id, "p-")
		}
		pv.Finding = &detect.Finding{Kind: vocab.KindProbeSilent, Severity: vocab.SeverityDegraded, Probe: id, Location: pv.Location,
			Onset: at(10), FiredAt: at(40), Text: "probe " + id + " silent"}
		ev.Probes[id] = pv
	}
	return ev
}

// demoCity is the demo city with the scene's maintenance windows.
func demoCity(sc scene) *config.Config {
	city := config.DemoCity()
	city.Watchdog.Maintain = sc.maintain
	return city
}

// correlateScene runs Correlate on the demo city with the scene's
// maintenance windows.
func correlateScene(sc scene) correlate.Result {
	city := demoCity(sc)
	return correlate.Correlate(correlate.NewTopology(city), sc.evidence(city))
}

func equal(a, b correlate.Result) bool { return reflect.DeepEqual(a, b) }

func equalEvidence(a, b detect.Evidence) bool { return reflect.DeepEqual(a, b) }

// brief says a problem in a line: its key, the rooms in trouble it
// explains, its place.
func brief(p correlate.Problem) string {
	return fmt.Sprintf("%s explains=%s place=%s", p.Key, strings.Join(p.Explains, ","), strings.Join(p.SubCenters, ","))
}

func briefs(r correlate.Result) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, brief(p))
	}
	return out
}

// problem returns the problem with key k, failing the test if there is
// none.
func problem(t *testing.T, r correlate.Result, k string) correlate.Problem {
	t.Helper()
	for _, p := range r.Problems {
		if p.Key == k {
			return p
		}
	}
	t.Fatalf("no problem %s in %q", k, briefs(r))
	return correlate.Problem{}
}

// checkBriefs compares the problems with want, in key order.
func checkBriefs(t *testing.T, r correlate.Result, want []string) {
	t.Helper()
	got := briefs(r)
	if !slices.Equal(got, want) {
		t.Errorf("problems\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
