package detect

import (
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/health"
)

func testDetect() config.Detect {
	d := config.DefaultWatchdog().Detect
	d.Latency.ClearAfter = 3 * time.Second
	d.Stutter.ClearAfter = 3 * time.Second
	d.Dropout.ClearAfter = 3 * time.Second
	d.ServerDown.ClearAfter = 2 * time.Second
	return d
}

// feed adds the window starting at t0+i seconds for series (room, probe)
// and steps the engine at its end.
func feed(e *Engine, room, probe string, i int, fn func(a *Agg)) []Change {
	a := Agg{Room: room, Probe: probe, Location: "loc-" + probe, Session: "S1", Window: t0.Add(time.Duration(i) * time.Second), Samples: 2, WindowMS: 2000, ConnectedMS: 2000, RTT: []float64{2, 2}}
	a.End = a.Window.Add(time.Second)
	if fn != nil {
		fn(&a)
	}
	now := a.End.Add(50 * time.Millisecond)
	e.AddAgg(a, now)
	return e.Step(now)
}

func transitions(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Transition.String()+" "+c.Finding.ID())
	}
	return out
}

func TestEngineDropoutFlapsMakeOneFinding(t *testing.T) {
	e := NewEngine(testDetect())
	var log []string
	for i := range 20 {
		// Ten flaps: a dropout every other second for 20 s.
		log = append(log, transitions(feed(e, "r", "p", i, func(a *Agg) {
			if i%2 == 0 {
				a.Dropouts, a.Down = 1, 1
			}
		}))...)
	}
	for i := 20; i < 25; i++ {
		log = append(log, transitions(feed(e, "r", "p", i, nil))...)
	}
	want := []string{"fired dropout/r/p", "cleared dropout/r/p"}
	if len(log) != 2 || log[0] != want[0] || log[1] != want[1] {
		t.Fatalf("transitions %q, want %q", log, want)
	}
}

func TestEngineDropoutFiresAtOnceAndClears(t *testing.T) {
	e := NewEngine(testDetect())
	feed(e, "r", "p", 0, nil)
	cs := feed(e, "r", "p", 1, func(a *Agg) { a.Dropouts, a.Down, a.Error = 1, 1, "read: EOF" })
	if len(cs) != 1 || cs[0].Transition != Fired || cs[0].Finding.Kind != KindDropout {
		t.Fatalf("changes %+v", cs)
	}
	f := cs[0].Finding
	if f.Location != "loc-p" || f.Session != "S1" || f.Figures.Down != 1 || f.Figures.Participants != 2 || f.Severity != SeverityCritical {
		t.Errorf("finding %+v", f)
	}
	// Clear in windows 2, 3, 4: clear_after 3 s counts from the first
	// clear step (end of window 2).
	for i := 2; i <= 4; i++ {
		if cs := feed(e, "r", "p", i, nil); len(cs) != 0 {
			t.Fatalf("window %d: %v", i, transitions(cs))
		}
	}
	if cs := feed(e, "r", "p", 5, nil); len(cs) != 1 || cs[0].Transition != Cleared {
		t.Fatalf("window 5: %v", transitions(cs))
	}
}

func TestEngineLatchCatchesDropoutBetweenSteps(t *testing.T) {
	e := NewEngine(testDetect())
	now := t0.Add(2 * time.Second)
	e.AddAgg(Agg{Room: "r", Probe: "p", Window: t0, End: t0.Add(time.Second), Samples: 1, Dropouts: 1, Down: 1}, now)
	e.AddAgg(Agg{Room: "r", Probe: "p", Window: t0.Add(time.Second), End: t0.Add(2 * time.Second), Samples: 1, ConnectedMS: 1000, WindowMS: 1000}, now)
	if cs := e.Step(now); len(cs) != 1 || cs[0].Finding.Kind != KindDropout {
		t.Fatalf("changes %v", transitions(cs))
	}
}

func TestEngineStaleDataFiresNothing(t *testing.T) {
	e := NewEngine(testDetect())
	// A spool replayed a minute late: the dropout in it is history.
	now := t0.Add(time.Minute)
	e.AddAgg(Agg{Room: "r", Probe: "p", Window: t0, End: t0.Add(time.Second), Samples: 1, Dropouts: 1, Down: 1}, now)
	if cs := e.Step(now); len(cs) != 0 {
		t.Fatalf("changes %v", transitions(cs))
	}
	if snap := e.Snapshot(now); len(snap.Series) != 0 {
		t.Errorf("stale series observed: %+v", snap.Series)
	}
}

func TestEngineMergesReplicasWindows(t *testing.T) {
	e := NewEngine(testDetect())
	// Two replicas each read one of two participants' Samples of the same
	// window; only together are they a p95 above the limit... and each
	// half is merged, not replaced.
	for i := range 10 {
		w := t0.Add(time.Duration(i) * time.Second)
		now := w.Add(time.Second)
		e.AddAgg(Agg{Room: "r", Probe: "p", Window: w, End: now, Samples: 1, RTT: []float64{500}}, now)
		e.AddAgg(Agg{Room: "r", Probe: "p", Window: w, End: now, Samples: 1, RTT: []float64{2}}, now)
	}
	now := t0.Add(10 * time.Second)
	cs := e.Step(now)
	if len(cs) != 1 || cs[0].Finding.Kind != KindLatency || cs[0].Finding.Figures.RTTP95MS != 500 {
		t.Fatalf("changes %+v", cs)
	}
	if n := len(e.series[SeriesKey{"r", "p"}].aggs); n != 10 {
		t.Errorf("%d windows kept, want 10 (merged)", n)
	}
}

func TestEngineHealth(t *testing.T) {
	d := testDetect()
	e := NewEngine(d)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	read := func(s int, ok bool, cpu float64) []Change {
		e.AddReading(health.Reading{Server: "m1", Check: "http[0]", Kind: "http", At: at(s), OK: ok, Error: map[bool]string{false: "status 503"}[ok]})
		e.AddReading(health.Reading{Server: "m1", Check: "prometheus[1]", Kind: "prometheus", At: at(s), OK: true, Values: map[string]float64{"cpu_pct": cpu, "unmapped": 1}})
		return e.Step(at(s))
	}
	if cs := read(0, false, 20); len(cs) != 0 {
		t.Fatalf("one failure fired: %v", transitions(cs))
	}
	snap := e.Snapshot(at(0))
	if st := snap.Servers["m1"]; st.Suspect || st.Down {
		t.Fatalf("after one failure: %+v", st)
	}
	if cs := read(1, false, 20); len(cs) != 1 || cs[0].Finding.ID() != "server_down/m1/http[0]" || cs[0].Finding.Figures.Failures != 2 {
		t.Fatalf("second failure: %+v", cs)
	}
	if st := e.Snapshot(at(1)).Servers["m1"]; !st.Down {
		t.Fatalf("after two failures: %+v", st)
	}
	read(2, true, 95) // CPU goes high: pending for 30 s
	if st := e.Snapshot(at(2)).Servers["m1"]; !st.Suspect || st.Saturated {
		t.Fatalf("CPU high for 0 s: %+v", st)
	}
	var fired []string
	for s := 3; s <= 33; s++ {
		fired = append(fired, transitions(read(s, true, 95))...)
	}
	// server_down clears 2 s after the first success (at 2 → 4), CPU fires
	// 30 s after it went high (at 32).
	want := []string{"cleared server_down/m1/http[0]", "fired saturation/m1/cpu_pct"}
	if len(fired) != 2 || fired[0] != want[0] || fired[1] != want[1] {
		t.Fatalf("transitions %q, want %q", fired, want)
	}
	f := e.Snapshot(at(33)).Findings
	if len(f) != 1 || f[0].Figures.Value != 95 || f[0].Figures.Limit != 90 || f[0].Onset != at(2) {
		t.Errorf("findings %+v", f)
	}
}

func TestEngineProbeSilent(t *testing.T) {
	e := NewEngine(testDetect())
	beats := []Beat{
		{ID: "a", Location: "L1", LastSeen: t0, Interval: 5 * time.Second},
		{ID: "b", Location: "L2", LastSeen: t0, Interval: 5 * time.Second, Stopped: true},
		{ID: "c", Location: "L2", LastSeen: t0, Interval: 20 * time.Second},
	}
	e.SetBeats(beats)
	if cs := e.Step(t0.Add(30 * time.Second)); len(cs) != 0 {
		t.Fatalf("at 30 s: %v", transitions(cs))
	}
	cs := e.Step(t0.Add(31 * time.Second))
	if len(cs) != 1 || cs[0].Finding.ID() != "probe_silent/a" || cs[0].Finding.Location != "L1" {
		t.Fatalf("at 31 s: %+v", cs)
	}
	// c heartbeats every 20 s: silent only after 60 s.
	if cs := e.Step(t0.Add(61 * time.Second)); len(cs) != 1 || cs[0].Finding.ID() != "probe_silent/c" {
		t.Fatalf("at 61 s: %v", transitions(cs))
	}
	beats[0].LastSeen = t0.Add(62 * time.Second)
	e.SetBeats(beats)
	if cs := e.Step(t0.Add(62 * time.Second)); len(cs) != 1 || cs[0].Transition != Cleared {
		t.Fatalf("after a's heartbeat: %v", transitions(cs))
	}
	if snap := e.Snapshot(t0.Add(62 * time.Second)); !snap.Silent["c"] || snap.Silent["a"] {
		t.Errorf("silent %v", snap.Silent)
	}
}

func TestEngineSnapshotSeries(t *testing.T) {
	d := testDetect()
	d.Latency.For = 5 * time.Second
	e := NewEngine(d)
	for i := range 3 {
		feed(e, "r", "p1", i, nil)
		feed(e, "r", "p2", i, func(a *Agg) { a.RTT = []float64{800, 800} })
		feed(e, "r", "p3", i, func(a *Agg) { a.Down = 1 })
	}
	snap := e.Snapshot(t0.Add(3 * time.Second))
	want := map[string][2]bool{"p1": {false, false}, "p2": {false, true}, "p3": {true, false}}
	if len(snap.Series) != 3 {
		t.Fatalf("series %+v", snap.Series)
	}
	for _, s := range snap.Series {
		if w := want[s.Probe]; s.Firing != w[0] || s.Pending != w[1] {
			t.Errorf("%s: firing %v pending %v, want %v", s.Probe, s.Firing, s.Pending, w)
		}
	}
}
