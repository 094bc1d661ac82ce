package console

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
)

// now0 is the tests' "now": Live is pure, its clock is what Add and Now
// are given.
var now0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

const (
	hall1 = "yz-hall-1"
	hall2 = "yz-hall-2"
	ws    = sample.TransportWS
	rtc   = sample.TransportWebRTC
)

// at is a sample of hall1 from location yz ending sec seconds after now0.
func at(sec int, tr sample.Transport, participant string, mod func(*sample.Sample)) sample.Sample {
	return sampleAt(hall1, "yz", tr, participant, now0.Add(time.Duration(sec)*time.Second), mod)
}

func newTestLive(t *testing.T, keep time.Duration) *Live {
	t.Helper()
	l := NewLive(config.DemoCity(), keep)
	th := l.Thresholds()
	if th.RTT != 300*time.Millisecond || th.Critical != time.Second || th.StutterPct != 5 || th.Stale != 10*time.Second {
		t.Fatalf("thresholds not the demo watchdog's: %+v", th)
	}
	return l
}

// The point of one second of a view is the worst participant's figures:
// the highest round trip, lag, freeze and loss, the lowest frame rate of a
// connected WebRTC participant, dropouts summed, participants down counted.
func TestLiveFoldsSecond(t *testing.T) {
	cases := []struct {
		name string
		in   []sample.Sample
		view string
		want Point
	}{
		{
			name: "worst round trip and lag",
			in: []sample.Sample{
				at(0, ws, "a", func(s *sample.Sample) { s.RTTMedianMS, s.LagMedianMS = 40, 90 }),
				at(0, ws, "b", func(s *sample.Sample) { s.RTTMedianMS, s.LagMedianMS = 120, 30 }),
			},
			view: "yz/ws",
			want: Point{RTTMS: 120, LagMS: 90, N: 2},
		},
		{
			name: "lowest frame rate of the connected WebRTC participants",
			in: []sample.Sample{
				at(0, rtc, "a", func(s *sample.Sample) { s.FPS = 25 }),
				at(0, rtc, "b", func(s *sample.Sample) { s.FPS = 12 }),
				at(0, rtc, "c", func(s *sample.Sample) { s.FPS = 0; s.Connected = false }),
			},
			view: "yz/webrtc",
			want: Point{RTTMS: 40, LagMS: 30, FPS: 12, Down: 1, N: 3},
		},
		{
			name: "a disconnected participant's frame rate does not count",
			in: []sample.Sample{
				at(0, rtc, "a", func(s *sample.Sample) { s.Connected, s.FPS = false, 0 }),
				at(0, rtc, "b", func(s *sample.Sample) { s.FPS = 24 }),
			},
			view: "yz/webrtc",
			want: Point{RTTMS: 40, LagMS: 30, FPS: 24, Down: 1, N: 2},
		},
		{
			name: "dropouts summed, down counted",
			in: []sample.Sample{
				at(0, ws, "a", func(s *sample.Sample) { s.Dropouts = 1 }),
				at(0, ws, "b", func(s *sample.Sample) { s.Dropouts, s.Connected = 2, false }),
				at(0, ws, "c", func(s *sample.Sample) { s.Connected = false }),
			},
			view: "yz/ws",
			want: Point{RTTMS: 40, LagMS: 30, Dropouts: 3, Down: 2, N: 3},
		},
		{
			name: "worst freeze and loss",
			in: []sample.Sample{
				at(0, ws, "a", func(s *sample.Sample) { s.FreezeMS, s.LossPct = 400, 1 }),
				at(0, ws, "b", func(s *sample.Sample) { s.FreezeMS, s.LossPct = 100, 7 }),
			},
			view: "yz/ws",
			want: Point{RTTMS: 40, LagMS: 30, FreezeMS: 400, LossPct: 7, N: 2},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLive(t, time.Minute)
			l.Add(now0, tc.in...)
			hist := l.History(hall1, now0, time.Minute)
			if len(hist) != 1 {
				t.Fatalf("views %v, want only %s", slices.Collect(maps.Keys(hist)), tc.view)
			}
			ps := hist[tc.view]
			if len(ps) != 1 {
				t.Fatalf("%s has %d points, want 1: %+v", tc.view, len(ps), ps)
			}
			want := tc.want
			want.T = now0.Unix()
			if got := exported(ps[0]); got != want {
				t.Errorf("point\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// exported is a point without its unexported bookkeeping, to compare.
func exported(p Point) Point {
	p.fpsN = 0
	return p
}

// Views are kept apart by location and transport; rooms the city does not
// have are ignored.
func TestLiveViews(t *testing.T) {
	l := newTestLive(t, time.Minute)
	l.Add(now0,
		at(0, ws, "a", nil),
		at(0, rtc, "b", nil),
		sampleAt(hall1, "jd", ws, "c", now0, nil),
		sampleAt(hall2, "yz", ws, "d", now0, nil),
		sampleAt("no-such-room", "yz", ws, "e", now0, nil),
	)
	got := slices.Sorted(maps.Keys(l.History(hall1, now0, time.Minute)))
	if want := []string{"jd/ws", "yz/webrtc", "yz/ws"}; !slices.Equal(got, want) {
		t.Errorf("views of %s: %v, want %v", hall1, got, want)
	}
	if k := ViewKey(&sample.Sample{Location: "gy", Transport: rtc}); k != "gy/webrtc" {
		t.Errorf("ViewKey = %q", k)
	}
	if _, ok := l.Now(now0)["no-such-room"]; ok {
		t.Error("a room the city does not have is shown")
	}
	if _, ok := l.Room("no-such-room", now0); ok {
		t.Error("Room of an unknown room is found")
	}
	if l.History("no-such-room", now0, time.Minute) != nil {
		t.Error("History of an unknown room is not nil")
	}
	if n := len(l.Now(now0)); n != len(config.DemoCity().Rooms) {
		t.Errorf("Now has %d rooms, want the city's %d", n, len(config.DemoCity().Rooms))
	}
}

// A sample that arrives late goes into its own second, in order; one for a
// second already there folds into it.
func TestLiveLateSamples(t *testing.T) {
	l := newTestLive(t, time.Minute)
	l.Add(now0.Add(12*time.Second),
		at(10, ws, "a", nil),
		at(12, ws, "a", nil),
		at(11, ws, "a", func(s *sample.Sample) { s.RTTMedianMS = 70 }), // late
		at(10, ws, "b", func(s *sample.Sample) { s.RTTMedianMS = 90 }), // later still, an earlier second
		at(14, ws, "a", nil),
		at(13, ws, "a", nil),
	)
	ps := l.History(hall1, now0.Add(14*time.Second), time.Minute)["yz/ws"]
	var ts []int64
	var rtts []float64
	var ns []int
	for _, p := range ps {
		ts = append(ts, p.T-now0.Unix())
		rtts = append(rtts, p.RTTMS)
		ns = append(ns, p.N)
	}
	if want := []int64{10, 11, 12, 13, 14}; !slices.Equal(ts, want) {
		t.Errorf("seconds %v, want %v", ts, want)
	}
	if want := []float64{90, 70, 40, 40, 40}; !slices.Equal(rtts, want) {
		t.Errorf("round trips %v, want %v", rtts, want)
	}
	if want := []int{2, 1, 1, 1, 1}; !slices.Equal(ns, want) {
		t.Errorf("participants %v, want %v", ns, want)
	}
}

// Points older than the history kept are dropped, and samples older than
// it are not taken at all.
func TestLiveTrims(t *testing.T) {
	l := newTestLive(t, 30*time.Second)
	l.Add(now0, at(-40, ws, "a", nil)) // older than keep: ignored
	if h := l.History(hall1, now0, time.Hour); len(h["yz/ws"]) != 0 {
		t.Fatalf("a sample older than the history kept was taken: %+v", h)
	}
	for s := -29; s <= 0; s++ {
		l.Add(now0, at(s, ws, "a", nil))
	}
	if n := len(l.History(hall1, now0, time.Hour)["yz/ws"]); n != 30 {
		t.Fatalf("%d points kept, want 30", n)
	}
	later := now0.Add(20 * time.Second)
	l.Add(later, at(20, ws, "a", nil))
	ps := l.History(hall1, later, time.Hour)["yz/ws"]
	if first := ps[0].T - now0.Unix(); first != -10 {
		t.Errorf("oldest point kept is at %+d s, want -10 (20 s later, 30 s kept)", first)
	}
	if n := len(ps); n != 12 {
		t.Errorf("%d points kept, want 12 (-10…0 and 20)", n)
	}
	// The span History is asked for bounds it too.
	if n := len(l.History(hall1, later, 5*time.Second)["yz/ws"]); n != 1 {
		t.Errorf("History over 5 s has %d points, want 1", n)
	}
}

// A room's state now is the worst of its fresh views' states.
func TestLiveNow(t *testing.T) {
	th := NewLive(config.DemoCity(), time.Minute).Thresholds()
	rttDegraded := ms(th.RTT) + 1
	rttCritical := ms(th.Critical) + 1
	// okFrom is an ok sample each second from sec to -1.
	okFrom := func(sec int, tr sample.Transport) []sample.Sample {
		var out []sample.Sample
		for s := sec; s < 0; s++ {
			out = append(out, at(s, tr, "ok-"+string(tr), nil))
		}
		return out
	}
	with := func(a []sample.Sample, b ...sample.Sample) []sample.Sample { return append(slices.Clone(a), b...) }
	cases := []struct {
		name  string
		in    []sample.Sample
		state string
		views map[string]string
	}{
		{name: "never seen", state: StateIdle},
		{name: "all well", in: okFrom(-5, ws), state: StateOK, views: map[string]string{"yz/ws": StateOK}},
		{name: "a dropout", in: with(okFrom(-5, ws), at(-1, ws, "b", func(s *sample.Sample) { s.Dropouts = 1 })), state: StateDown},
		{name: "a participant disconnected", in: with(okFrom(-5, rtc), at(-1, rtc, "b", func(s *sample.Sample) { s.Connected, s.FPS = false, 0 })), state: StateDown},
		{name: "round trip over degraded", in: with(okFrom(-5, ws), at(-1, ws, "b", func(s *sample.Sample) { s.RTTMedianMS = rttDegraded })), state: StateDegraded},
		{name: "round trip at degraded exactly", in: with(okFrom(-5, ws), at(-1, ws, "b", func(s *sample.Sample) { s.RTTMedianMS = ms(th.RTT) })), state: StateOK},
		{name: "lag over degraded", in: with(okFrom(-5, ws), at(-1, ws, "b", func(s *sample.Sample) { s.LagMedianMS = rttDegraded })), state: StateDegraded},
		{name: "round trip over critical", in: with(okFrom(-5, ws), at(-1, ws, "b", func(s *sample.Sample) { s.RTTMedianMS = rttCritical })), state: StateDown},
		{name: "stutter over the watchdog's share", in: with(okFrom(-5, rtc), at(-1, rtc, "b", func(s *sample.Sample) { s.FreezeMS = th.StutterPct*10 + 1 })), state: StateDegraded},
		{name: "loss over 5%", in: with(okFrom(-5, ws), at(-1, ws, "b", func(s *sample.Sample) { s.LossPct = 6 })), state: StateDegraded},
		{
			name:  "a fault within the last seconds still shows",
			in:    with(okFrom(-6, ws), at(-2, ws, "b", func(s *sample.Sample) { s.Dropouts = 1 })),
			state: StateDown,
		},
		{
			name:  "a fault longer ago, well since",
			in:    with(okFrom(-8, ws), at(-6, ws, "b", func(s *sample.Sample) { s.Dropouts = 1 })),
			state: StateOK,
		},
		{
			name:  "the worst of two views",
			in:    with(okFrom(-5, ws), with(okFrom(-5, rtc), at(-1, rtc, "b", func(s *sample.Sample) { s.RTTMedianMS = rttDegraded }))...),
			state: StateDegraded,
			views: map[string]string{"yz/ws": StateOK, "yz/webrtc": StateDegraded},
		},
		{
			name:  "a stale view no longer counts",
			in:    with(okFrom(-3, ws), at(-20, rtc, "b", func(s *sample.Sample) { s.Dropouts = 3 })),
			state: StateOK,
			views: map[string]string{"yz/ws": StateOK},
		},
		{name: "silent for 30 s after being probed", in: okFrom(-40, ws)[:10], state: StateUnknown},
		{name: "last seen two minutes ago", in: []sample.Sample{at(-120, ws, "a", nil)}, state: StateIdle},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLive(t, 10*time.Minute)
			for _, s := range tc.in {
				// Each sample arrives as its window ends.
				l.Add(s.WindowStart.Add(time.Second), s)
			}
			rn, ok := l.Room(hall1, now0)
			if !ok {
				t.Fatal("no room")
			}
			if rn.State != tc.state {
				t.Errorf("state %s, want %s (%+v)", rn.State, tc.state, rn)
			}
			if all := l.Now(now0)[hall1]; all.State != rn.State {
				t.Errorf("Now says %s, Room says %s", all.State, rn.State)
			}
			if tc.views != nil {
				got := map[string]string{}
				for k, v := range rn.Views {
					got[k] = v.State
				}
				if !maps.Equal(got, tc.views) {
					t.Errorf("views %v, want %v", got, tc.views)
				}
			}
			if other := l.Now(now0)[hall2]; other.State != StateIdle {
				t.Errorf("%s is %s with nothing probed", hall2, other.State)
			}
		})
	}
}

// A room's figures are the worst of its views: the frame rate the lowest
// of its WebRTC views, never a WebSocket view's zero.
func TestLiveRoomFigures(t *testing.T) {
	l := newTestLive(t, time.Minute)
	l.Add(now0,
		at(-1, ws, "a", func(s *sample.Sample) { s.RTTMedianMS = 80 }),
		at(-1, rtc, "b", func(s *sample.Sample) { s.FPS = 20 }),
		sampleAt(hall1, "jd", rtc, "c", now0.Add(-time.Second), func(s *sample.Sample) { s.FPS, s.Dropouts = 15, 1 }),
	)
	rn, _ := l.Room(hall1, now0)
	if rn.FPS != 15 || rn.RTTMS != 80 || rn.Dropouts != 1 || rn.State != StateDown {
		t.Errorf("room: fps %v rtt %v dropouts %d state %s, want 15, 80, 1, down", rn.FPS, rn.RTTMS, rn.Dropouts, rn.State)
	}
	if v := rn.Views["yz/ws"]; v.AgeS != 1 || v.State != StateOK {
		t.Errorf("yz/ws: %+v, want ok, 1 s old", v)
	}
	l2 := newTestLive(t, time.Minute)
	l2.Add(now0, at(-1, ws, "a", nil), at(-1, rtc, "b", func(s *sample.Sample) { s.FPS = 20 }))
	if rn, _ := l2.Room(hall1, now0); rn.FPS != 20 {
		t.Errorf("room fps %v with a ws view and a 20 fps webrtc view, want 20", rn.FPS)
	}
}

// Sparks cover the span asked for, per second, the worst round trip and
// freeze and the dropouts summed over the room's views.
func TestLiveSparks(t *testing.T) {
	l := newTestLive(t, 10*time.Minute)
	var in []sample.Sample
	for s := -150; s < 0; s += 10 {
		in = append(in,
			at(s, ws, "a", func(x *sample.Sample) { x.RTTMedianMS, x.Dropouts = 40.04, 1 }),
			at(s, rtc, "b", func(x *sample.Sample) { x.RTTMedianMS, x.FreezeMS, x.Dropouts = 61.26, 120, 2 }),
		)
	}
	l.Add(now0, in...)
	sp := l.Sparks(now0, 120*time.Second)
	if len(sp) != len(config.DemoCity().Rooms) {
		t.Errorf("sparks for %d rooms, want every room's", len(sp))
	}
	h := sp[hall1]
	var rel []int64
	for _, ts := range h.T {
		rel = append(rel, ts-now0.Unix())
	}
	if want := []int64{-120, -110, -100, -90, -80, -70, -60, -50, -40, -30, -20, -10}; !slices.Equal(rel, want) {
		t.Errorf("seconds %v, want %v", rel, want)
	}
	for i := range h.T {
		if h.RTT[i] != 61.3 || h.Freeze[i] != 120 || h.Dropouts[i] != 3 {
			t.Fatalf("second %d: rtt %v freeze %v dropouts %d, want 61.3, 120, 3", rel[i], h.RTT[i], h.Freeze[i], h.Dropouts[i])
		}
	}
	if e := sp[hall2]; len(e.T) != 0 || e.T == nil {
		t.Errorf("an unprobed room's sparks: %+v, want empty (not null)", e)
	}
}

// History is each view's points over the span, a copy.
func TestLiveHistory(t *testing.T) {
	l := newTestLive(t, 10*time.Minute)
	for s := -100; s <= 0; s++ {
		l.Add(now0, at(s, ws, "a", nil))
	}
	l.Add(now0, at(-3, rtc, "b", nil))
	h := l.History(hall1, now0, 30*time.Second)
	if n := len(h["yz/ws"]); n != 31 {
		t.Errorf("yz/ws: %d points over 30 s, want 31", n)
	}
	if n := len(h["yz/webrtc"]); n != 1 {
		t.Errorf("yz/webrtc: %d points, want 1", n)
	}
	h["yz/ws"][0].RTTMS = 9999
	if again := l.History(hall1, now0, 30*time.Second); again["yz/ws"][0].RTTMS == 9999 {
		t.Error("History hands out the live points, not a copy")
	}
	if h := l.History(hall2, now0, time.Minute); h == nil || len(h) != 0 {
		t.Errorf("an unprobed room's history: %v, want empty", h)
	}
}

// Without a stale threshold in the rules, a view goes stale after 5 s.
func TestLiveDefaultStale(t *testing.T) {
	city := config.DemoCity()
	city.Watchdog.Detect.Stale = 0
	l := NewLive(city, time.Minute)
	if l.Thresholds().Stale != 5*time.Second {
		t.Fatalf("stale %v, want 5s", l.Thresholds().Stale)
	}
	l.Add(now0, at(-6, ws, "a", nil))
	if rn, _ := l.Room(hall1, now0); rn.State != StateUnknown {
		t.Errorf("state %s 6 s after the last sample, want unknown", rn.State)
	}
}
