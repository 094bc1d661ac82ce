package detect

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
)

// newEngine returns an Engine for the demo city, its detect section changed
// by edit.
func newEngine(edit func(d *config.Detect)) *Engine {
	city := config.DemoCity()
	if edit != nil {
		edit(&city.Watchdog.Detect)
	}
	return NewEngine(city)
}

// key is the series of room r seen by probe p over ws.
var key = SeriesKey{Room: "r", Probe: "p", Transport: "ws"}

// win returns window i of series k: two participants, connected, RTT 2 ms,
// changed by edit.
func win(k SeriesKey, i int, edit func(a *Agg)) Agg {
	a := Agg{Room: k.Room, Probe: k.Probe, Transport: k.Transport, Location: "loc-" + k.Probe, Session: "S1",
		Window: at(float64(i)), Samples: 2, WindowMS: 2000, ConnectedMS: 2000, RTT: []float64{2, 2}}
	a.End = a.Window.Add(time.Second)
	if edit != nil {
		edit(&a)
	}
	return a
}

// stepAt is when window i is evaluated: 50 ms after its end.
func stepAt(i int) time.Time { return at(float64(i) + 1.05) }

// tick adds windows (of window i) and steps at stepAt(i).
func tick(e *Engine, i int, windows ...Agg) []Change {
	now := stepAt(i)
	for _, a := range windows {
		e.AddAgg(a, now)
	}
	return e.Step(now)
}

func transitions(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Transition.String()+" "+c.Finding.ID())
	}
	return out
}

// seriesView returns the view of one series in ev, and whether it is there.
func seriesView(ev Evidence, k SeriesKey) (SeriesView, bool) {
	for _, s := range ev.Series {
		if s.Room == k.Room && s.Probe == k.Probe && s.Transport == k.Transport {
			return s, true
		}
	}
	return SeriesView{}, false
}

func TestEngineDropoutFlapsMakeOneFinding(t *testing.T) {
	e := newEngine(nil) // dropout clear_after 30 s
	var log []string
	for i := range 60 {
		// Ten flaps: a dropout every other second for 20 s, then none.
		cs := tick(e, i, win(key, i, func(a *Agg) {
			if i < 20 && i%2 == 0 {
				a.Dropouts, a.Down = 1, 1
			}
		}))
		for _, s := range transitions(cs) {
			log = append(log, fmt.Sprintf("%d %s", i, s))
		}
	}
	// The last dropout is window 18, which ends at 19 s: clear from then
	// for 30 s, so cleared at the step of window 48 (49.05 s).
	want := []string{"0 fired dropout/r/p/ws", "48 cleared dropout/r/p/ws"}
	if !slices.Equal(log, want) {
		t.Fatalf("transitions %q, want %q", log, want)
	}
}

func TestEngineDropoutFinding(t *testing.T) {
	e := newEngine(nil)
	tick(e, 0, win(key, 0, nil))
	cs := tick(e, 1, win(key, 1, func(a *Agg) { a.Dropouts, a.Down, a.Error = 1, 1, "read: EOF" }))
	if len(cs) != 1 || cs[0].Transition != Fired || cs[0].Finding.Kind != vocab.KindDropout {
		t.Fatalf("changes %+v", cs)
	}
	f := cs[0].Finding
	if f.Location != "loc-p" || f.Session != "S1" || f.Transport != "ws" || f.Figures.Down != 1 || f.Figures.Participants != 2 ||
		f.Severity != vocab.SeverityCritical || !f.Onset.Equal(at(1)) || !f.FiredAt.Equal(stepAt(1)) || !strings.Contains(f.Text, "read: EOF") {
		t.Errorf("finding %+v", f)
	}
}

func TestEngineLatchCatchesDropoutBetweenSteps(t *testing.T) {
	e := newEngine(nil)
	now := at(2)
	e.AddAgg(Agg{Room: "r", Probe: "p", Transport: "ws", Window: t0, End: at(1), Samples: 1, Dropouts: 1, Down: 1}, now)
	e.AddAgg(Agg{Room: "r", Probe: "p", Transport: "ws", Window: at(1), End: at(2), Samples: 1, ConnectedMS: 1000, WindowMS: 1000}, now)
	cs := e.Step(now)
	if len(cs) != 1 || cs[0].Finding.Kind != vocab.KindDropout || !cs[0].Finding.Onset.Equal(t0) {
		t.Fatalf("changes %+v", cs)
	}
}

func TestEngineStaleDataFiresNothing(t *testing.T) {
	e := newEngine(nil)
	// A spool replayed a minute late: the dropout in it is history.
	now := at(60)
	e.AddAgg(Agg{Room: "r", Probe: "p", Transport: "ws", Window: t0, End: at(1), Samples: 1, Dropouts: 1, Down: 1, RTT: []float64{5000}}, now)
	if cs := e.Step(now); len(cs) != 0 {
		t.Fatalf("changes %v", transitions(cs))
	}
	if ev := e.Evidence(now); len(ev.Series) != 0 {
		t.Errorf("stale series observed: %+v", ev.Series)
	}
}

func TestEngineMergesReplicasWindows(t *testing.T) {
	e := newEngine(nil)
	// Two replicas each read one of two participants' Samples of the same
	// window: merged, not replaced, they make a p95 of 500 ms.
	for i := range 10 {
		w := at(float64(i))
		now := w.Add(time.Second)
		e.AddAgg(Agg{Room: "r", Probe: "p", Transport: "ws", Window: w, End: now, Samples: 1, RTT: []float64{500}}, now)
		e.AddAgg(Agg{Room: "r", Probe: "p", Transport: "ws", Window: w, End: now, Samples: 1, RTT: []float64{2}}, now)
	}
	now := at(10)
	cs := e.Step(now)
	if len(cs) != 1 || cs[0].Finding.Kind != vocab.KindLatency || cs[0].Finding.Figures.RTTP95MS != 500 || !cs[0].Finding.Onset.Equal(t0) {
		t.Fatalf("changes %+v", cs)
	}
	s := e.series[key]
	if s == nil {
		t.Fatalf("no series %v", key)
	}
	if n := len(s.aggs); n != 10 {
		t.Errorf("%d windows kept, want 10 (merged)", n)
	}
	for _, a := range s.aggs {
		if a.Samples != 2 || len(a.RTT) != 2 {
			t.Errorf("window %s: %d samples, RTT %v; want both replicas' halves", a.Window, a.Samples, a.RTT)
		}
	}
}

func TestEngineKeepsOnlyWhatTheLongestWindowNeeds(t *testing.T) {
	e := newEngine(nil) // stutter window 30 s
	for i := range 100 {
		tick(e, i, win(key, i, nil))
	}
	s := e.series[key]
	if n := len(s.aggs); n > 32 || n < 30 {
		t.Errorf("%d windows kept, want about 31", n)
	}
}

// TestEngineSymptomTimes pins down when a sample finding fires and ends:
// its onset is the start of the first bad window (For counts from there),
// and once firing it is the recent data that decides, so it starts clearing
// from the end of the last bad window as soon as the last detect.recent is
// clean — not a whole rule window later — and ends clear_after after that.
func TestEngineSymptomTimes(t *testing.T) {
	tests := []struct {
		name string
		edit func(d *config.Detect)
		// bad makes window i bad.
		bad  func(i int, a *Agg)
		kind vocab.Kind
		// The window whose step fires it, its onset; the window whose step
		// first sees it clearing, its ClearSince; the window whose step
		// clears it.
		fired      int
		onset      time.Time
		clearSeen  int
		clearSince time.Time
		cleared    int
		// windowHolds: when clearing begins, the rule's whole window still
		// shows the symptom (so it is the recent data that ends it).
		windowHolds bool
	}{
		{
			name: "latency", kind: vocab.KindLatency,
			bad: func(i int, a *Agg) {
				if i < 15 {
					a.RTT = []float64{500, 500}
				}
			},
			// Bad windows 0–14 (until 15 s); window 16 is the first whose
			// last 2 s are clean; clear_after 30 s from 15 s: cleared at
			// window 44's step (45.05 s).
			fired: 0, onset: at(0), clearSeen: 16, clearSince: at(15), cleared: 44, windowHolds: true,
		},
		{
			name: "latency with for 5s", kind: vocab.KindLatency,
			edit: func(d *config.Detect) { d.Latency.For = 5 * time.Second },
			bad: func(i int, a *Agg) {
				if i >= 5 && i < 20 {
					a.RTT = []float64{500, 500}
				}
			},
			// Onset 5 s (window 5's start), so it fires at the first step
			// 5 s later: window 9's (10.05 s).
			fired: 9, onset: at(5), clearSeen: 21, clearSince: at(20), cleared: 49, windowHolds: true,
		},
		{
			name: "stutter", kind: vocab.KindStutter,
			bad: func(i int, a *Agg) {
				if i < 5 {
					a.FreezeMS, a.FreezeCount = 2000, 2 // both participants frozen all second
				}
			},
			// 6.7 % of 30 s after two windows; onset the first frozen
			// window's start.
			fired: 1, onset: at(0), clearSeen: 6, clearSince: at(5), cleared: 34, windowHolds: true,
		},
		{
			name: "dropout", kind: vocab.KindDropout,
			bad: func(i int, a *Agg) {
				if i >= 3 && i < 6 {
					a.Dropouts, a.Down = 1, 1
				}
			},
			fired: 3, onset: at(3), clearSeen: 6, clearSince: at(6), cleared: 35,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(tt.edit)
			fired, clearSeen, cleared := -1, -1, -1
			for i := range 60 {
				cs := tick(e, i, win(key, i, func(a *Agg) { tt.bad(i, a) }))
				for _, c := range cs {
					if c.Finding.Kind != tt.kind {
						t.Fatalf("window %d: unexpected %s %s", i, c.Transition, c.Finding.ID())
					}
					switch c.Transition {
					case Fired:
						if fired >= 0 {
							t.Fatalf("window %d: fired again (first at %d)", i, fired)
						}
						fired = i
						if !c.Finding.Onset.Equal(tt.onset) || !c.Finding.FiredAt.Equal(stepAt(i)) {
							t.Errorf("fired: onset %s fired at %s, want %s and %s", c.Finding.Onset, c.Finding.FiredAt, tt.onset, stepAt(i))
						}
					case Cleared:
						if cleared >= 0 {
							t.Fatalf("window %d: cleared again (first at %d)", i, cleared)
						}
						cleared = i
					}
				}
				sv, ok := seriesView(e.Evidence(stepAt(i)), key)
				if !ok || fired < 0 || cleared >= 0 || clearSeen >= 0 || sv.ClearSince.IsZero() {
					continue
				}
				clearSeen = i
				if !sv.ClearSince.Equal(tt.clearSince) {
					t.Errorf("window %d: clear since %s, want %s", i, sv.ClearSince, tt.clearSince)
				}
				if tt.windowHolds {
					s := e.series[key]
					d := e.cfg
					var v Verdict
					switch tt.kind {
					case vocab.KindLatency:
						v = Latency(s.aggs, d.Latency, d.Recent)
					case vocab.KindStutter:
						v = Stutter(s.aggs, d.Stutter, d.Recent)
					}
					if !v.Holds || v.Recent {
						t.Errorf("window %d: verdict over the rule's window holds %v, recent %v; want true, false", i, v.Holds, v.Recent)
					}
				}
			}
			if fired != tt.fired || clearSeen != tt.clearSeen || cleared != tt.cleared {
				t.Errorf("fired at window %d, clearing from %d, cleared at %d; want %d, %d, %d",
					fired, clearSeen, cleared, tt.fired, tt.clearSeen, tt.cleared)
			}
		})
	}
}

func TestEngineSeriesPerTransport(t *testing.T) {
	e := newEngine(nil)
	ws := key
	rtc := SeriesKey{Room: "r", Probe: "p", Transport: "webrtc"}
	var log []string
	for i := range 3 {
		log = append(log, transitions(tick(e, i,
			win(ws, i, func(a *Agg) { a.RTT = []float64{800, 800} }),
			win(rtc, i, nil)))...)
	}
	if want := []string{"fired latency/r/p/ws"}; !slices.Equal(log, want) {
		t.Fatalf("transitions %q, want %q", log, want)
	}
	ev := e.Evidence(stepAt(2))
	var got []string
	for _, s := range ev.Series {
		got = append(got, fmt.Sprintf("%s/%s/%s %s %d", s.Room, s.Probe, s.Transport, s.View, len(s.Findings)))
	}
	if want := []string{"r/p/webrtc ok 0", "r/p/ws degraded 1"}; !slices.Equal(got, want) {
		t.Errorf("series %q, want %q", got, want)
	}
	if sv, _ := seriesView(ev, ws); len(sv.Findings) == 1 && (sv.Findings[0].Transport != "ws" || sv.Location != "loc-p") {
		t.Errorf("ws view %+v", sv)
	}
}

func TestEngineEvidenceViews(t *testing.T) {
	slow := func(a *Agg) { a.RTT = []float64{800, 800} }
	tests := []struct {
		name  string
		edit  func(d *config.Detect)
		beats []Beat
		// n windows of gen, then evaluated at the step of window n-1 plus
		// later (for staleness).
		n       int
		gen     func(a *Agg)
		later   time.Duration
		absent  bool
		view    vocab.View
		pending bool
		kinds   []vocab.Kind
	}{
		{name: "fine", n: 3, view: vocab.ViewOK},
		{name: "slow", n: 3, gen: slow, view: vocab.ViewDegraded, kinds: []vocab.Kind{vocab.KindLatency}},
		{name: "stuttering", n: 3, gen: func(a *Agg) { a.FreezeMS = 2000 }, view: vocab.ViewDegraded, kinds: []vocab.Kind{vocab.KindStutter}},
		{name: "down", n: 3, gen: func(a *Agg) { slow(a); a.Down, a.Dropouts = 2, 1 }, view: vocab.ViewDown,
			kinds: []vocab.Kind{vocab.KindDropout, vocab.KindLatency}},
		{name: "holds, not yet for `for`: unknown", edit: func(d *config.Detect) { d.Latency.For = 5 * time.Second },
			n: 3, gen: slow, view: vocab.ViewUnknown, pending: true},
		{name: "firing, data stale: unknown", n: 3, gen: slow, later: 11 * time.Second, view: vocab.ViewUnknown,
			kinds: []vocab.Kind{vocab.KindLatency}},
		{name: "fine, data stale: not seen", n: 3, later: 11 * time.Second, absent: true},
		{name: "probe silent: unknown", n: 3, gen: slow, view: vocab.ViewUnknown, kinds: []vocab.Kind{vocab.KindLatency},
			beats: []Beat{{ID: "p", Location: "loc-p", LastSeen: at(-60), Interval: 5 * time.Second}}},
		{name: "probe beating: fine", n: 3, view: vocab.ViewOK,
			beats: []Beat{{ID: "p", Location: "loc-p", LastSeen: at(2), Interval: 5 * time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(tt.edit)
			e.SetBeats(tt.beats)
			for i := range tt.n {
				tick(e, i, win(key, i, tt.gen))
			}
			now := stepAt(tt.n - 1).Add(tt.later)
			e.Step(now)
			sv, ok := seriesView(e.Evidence(now), key)
			if ok == tt.absent {
				t.Fatalf("series seen %v, want %v: %+v", ok, !tt.absent, sv)
			}
			if tt.absent {
				return
			}
			var kinds []vocab.Kind
			for _, f := range sv.Findings {
				kinds = append(kinds, f.Kind)
			}
			if sv.View != tt.view || sv.Pending != tt.pending || !slices.Equal(kinds, tt.kinds) {
				t.Errorf("view %s pending %v kinds %v, want %s %v %v", sv.View, sv.Pending, kinds, tt.view, tt.pending, tt.kinds)
			}
			if sv.Location != "loc-p" || sv.Room != "r" || sv.Probe != "p" || sv.Transport != "ws" {
				t.Errorf("view %+v", sv)
			}
			if len(sv.Findings) > 0 && !sv.Onset.Equal(t0) {
				t.Errorf("onset %s, want %s", sv.Onset, t0)
			}
		})
	}
}

// TestEngineEvidenceClearSince: a series' ClearSince is set only when every
// one of its findings has stopped holding, to the latest time one did.
func TestEngineEvidenceClearSince(t *testing.T) {
	e := newEngine(nil)
	// Slow in windows 0–5 (until 6 s), down in windows 0–8 (until 9 s).
	for i := range 10 {
		tick(e, i, win(key, i, func(a *Agg) {
			if i <= 5 {
				a.RTT = []float64{800, 800}
			}
			if i <= 8 {
				a.Down = 1
			}
		}))
		sv, _ := seriesView(e.Evidence(stepAt(i)), key)
		clear := map[vocab.Kind]time.Time{}
		for _, f := range sv.Findings {
			clear[f.Kind] = f.ClearSince
		}
		switch i {
		case 7: // latency ended at 6 s, the dropout holds
			if sv.View != vocab.ViewDown || !sv.ClearSince.IsZero() || !clear[vocab.KindLatency].Equal(at(6)) || !clear[vocab.KindDropout].IsZero() {
				t.Errorf("window %d: view %s clear since %s, findings' %v; want down, zero, latency's 6 s", i, sv.View, sv.ClearSince, clear)
			}
		case 9: // both ended, the dropout last (9 s)
			if sv.View != vocab.ViewDown || !sv.ClearSince.Equal(at(9)) || !clear[vocab.KindLatency].Equal(at(6)) || !clear[vocab.KindDropout].Equal(at(9)) {
				t.Errorf("window %d: view %s clear since %s, findings' %v; want down, 9 s", i, sv.View, sv.ClearSince, clear)
			}
		}
		if !sv.Onset.Equal(t0) {
			t.Errorf("window %d: onset %s, want %s", i, sv.Onset, t0)
		}
	}
}

func TestEngineEvidenceSeriesSorted(t *testing.T) {
	e := newEngine(nil)
	keys := []SeriesKey{
		{Room: "b", Probe: "p2", Transport: "ws"}, {Room: "a", Probe: "p2", Transport: "ws"},
		{Room: "a", Probe: "p1", Transport: "ws"}, {Room: "a", Probe: "p1", Transport: "webrtc"},
	}
	for i := range 2 {
		var ws []Agg
		for _, k := range keys {
			ws = append(ws, win(k, i, nil))
		}
		tick(e, i, ws...)
	}
	var got []string
	for _, s := range e.Evidence(stepAt(1)).Series {
		got = append(got, s.Room+"/"+s.Transport+"/"+s.Probe)
	}
	want := []string{"a/webrtc/p1", "a/ws/p1", "a/ws/p2", "b/ws/p2"}
	if !slices.Equal(got, want) {
		t.Errorf("series %q, want %q (by room, transport, probe)", got, want)
	}
}

func TestEngineProbeSilent(t *testing.T) {
	e := newEngine(nil) // probe_silent_after 30 s
	beats := []Beat{
		{ID: "a", Location: "L1", LastSeen: t0, Interval: 5 * time.Second},
		{ID: "b", Location: "L2", LastSeen: t0, Interval: 5 * time.Second, Stopped: true},
		{ID: "c", Location: "L2", LastSeen: t0, Interval: 20 * time.Second},
	}
	e.SetBeats(beats)
	silent := func(now time.Time) []string {
		var out []string
		ev := e.Evidence(now)
		for _, id := range []string{"a", "b", "c"} {
			pv, ok := ev.Probes[id]
			if !ok {
				t.Fatalf("at %s: no view of probe %s", now, id)
			}
			if pv.Silent != (pv.Finding != nil) {
				t.Errorf("at %s: %+v: silent without a finding or the other way round", now, pv)
			}
			if pv.Silent {
				out = append(out, id)
			}
		}
		return out
	}
	if cs := e.Step(at(30)); len(cs) != 0 {
		t.Fatalf("at 30 s: %v", transitions(cs))
	}
	if got := silent(at(30)); len(got) != 0 {
		t.Fatalf("at 30 s: silent %v", got)
	}
	cs := e.Step(at(31))
	if len(cs) != 1 || cs[0].Finding.ID() != "probe_silent/a" || cs[0].Finding.Location != "L1" || !cs[0].Finding.Onset.Equal(t0) {
		t.Fatalf("at 31 s: %+v", cs)
	}
	if got := silent(at(31)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("at 31 s: silent %v", got)
	}
	if pv := e.Evidence(at(31)).Probes["a"]; pv.Location != "L1" || pv.Finding.Kind != vocab.KindProbeSilent || !pv.Finding.Onset.Equal(t0) {
		t.Errorf("probe a: %+v, finding %+v", pv, pv.Finding)
	}
	// c heartbeats every 20 s: silent only after 60 s.
	if cs := e.Step(at(61)); len(cs) != 1 || cs[0].Finding.ID() != "probe_silent/c" {
		t.Fatalf("at 61 s: %v", transitions(cs))
	}
	beats[0].LastSeen = at(62)
	e.SetBeats(beats)
	if cs := e.Step(at(62)); len(cs) != 1 || cs[0].Transition != Cleared || cs[0].Finding.ID() != "probe_silent/a" {
		t.Fatalf("after a's heartbeat: %v", transitions(cs))
	}
	if got := silent(at(62)); !slices.Equal(got, []string{"c"}) {
		t.Errorf("at 62 s: silent %v", got)
	}
	// A probe no longer heartbeating is forgotten unless it is silent.
	e.SetBeats(beats[:1])
	e.Step(at(63))
	ev := e.Evidence(at(63))
	if _, ok := ev.Probes["b"]; ok {
		t.Errorf("stopped probe b, gone from the heartbeats, still has a view")
	}
	if pv, ok := ev.Probes["c"]; !ok || !pv.Silent {
		t.Errorf("silent probe c, gone from the heartbeats: %+v, want still silent", pv)
	}
}

// TestEngineClearedFindingDoesNotFireOnOldData: with clear_after shorter
// than the latency window, a finding that cleared sees its window still
// full of the ended fault's slow samples; it fires again only on fresh
// trouble, not on those.
func TestEngineClearedFindingDoesNotFireOnOldData(t *testing.T) {
	e := newEngine(func(d *config.Detect) { d.Latency.ClearAfter = time.Second })
	slow := func(a *Agg) { a.RTT, a.RTTMaxMS = []float64{600, 600}, 600 }
	var log []string
	for i := range 30 {
		var edit func(*Agg)
		if (i >= 2 && i < 8) || i == 20 {
			edit = slow
		}
		for _, s := range transitions(tick(e, i, win(key, i, edit))) {
			log = append(log, fmt.Sprintf("%d %s", i, s))
		}
	}
	want := []string{"2 fired latency/r/p/ws", "9 cleared latency/r/p/ws", "20 fired latency/r/p/ws", "22 cleared latency/r/p/ws"}
	if !slices.Equal(log, want) {
		t.Fatalf("transitions\n got %q\nwant %q", log, want)
	}
}
