package console

import (
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
)

// Room states on the overview, worst last.
const (
	StateIdle     = "idle"
	StateOK       = "ok"
	StateUnknown  = "unknown"
	StateDegraded = "degraded"
	StateDown     = "down"
)

// stateRank orders states by how bad they are.
func stateRank(s string) int {
	switch s {
	case StateOK:
		return 1
	case StateUnknown:
		return 2
	case StateDegraded:
		return 3
	case StateDown:
		return 4
	}
	return 0
}

// worse returns the worse of two states.
func worse(a, b string) string {
	if stateRank(b) > stateRank(a) {
		return b
	}
	return a
}

// Point is one second of one view of a room (a probe location over one
// transport): the worst participant's figures in that second.
type Point struct {
	// T is the second the measurement window ended in (Unix seconds).
	T int64 `json:"t"`
	// RTTMS and LagMS are the worst participant's median round trip and
	// event lag; FPS the lowest frame rate of a video participant.
	RTTMS float64 `json:"rtt_ms"`
	LagMS float64 `json:"lag_ms"`
	FPS   float64 `json:"fps"`
	// FreezeMS is the longest stutter (frozen video, late events) of a
	// participant in the window; LossPct the worst packet loss.
	FreezeMS float64 `json:"freeze_ms"`
	LossPct  float64 `json:"loss_pct"`
	// Dropouts are connections lost in the second, over all participants;
	// Down the participants not connected at the window's end; N how many
	// participants reported.
	Dropouts int `json:"dropouts"`
	Down     int `json:"down"`
	N        int `json:"n"`

	fpsN int
}

// add folds one participant's sample into the point.
func (p *Point) add(s *sample.Sample) {
	p.N++
	p.RTTMS = math.Max(p.RTTMS, s.RTTMedianMS)
	p.LagMS = math.Max(p.LagMS, s.LagMedianMS)
	if s.Transport == sample.TransportWebRTC && s.Connected {
		if p.fpsN == 0 || s.FPS < p.FPS {
			p.FPS = s.FPS
		}
		p.fpsN++
	}
	p.FreezeMS = math.Max(p.FreezeMS, s.FreezeMS)
	p.LossPct = math.Max(p.LossPct, s.LossPct)
	p.Dropouts += s.Dropouts
	if !s.Connected {
		p.Down++
	}
}

// series is a view's points, oldest first, at most one per second.
type series struct {
	points []Point
	last   time.Time // when the newest sample arrived (its window's end)
}

// roomLive is what the console has seen of one room.
type roomLive struct {
	views map[string]*series // key "location/transport"
}

// Thresholds turn figures into a state. They come from the watchdog's
// detection rules, so a tile turns amber on what the watchdog would call
// degraded.
type Thresholds struct {
	RTT      time.Duration // degraded above
	Critical time.Duration // down above
	// StutterPct of a second frozen is degraded.
	StutterPct float64
	// Stale: a view with no sample for this long no longer counts.
	Stale time.Duration
}

// ThresholdsOf reads the thresholds from the watchdog's detection rules.
func ThresholdsOf(d config.Detect) Thresholds {
	return Thresholds{RTT: d.Latency.Degraded, Critical: d.Latency.Critical, StutterPct: d.Stutter.Pct, Stale: d.Stale}
}

// state is a point's state under the thresholds.
func (th Thresholds) state(p Point) string {
	switch {
	case p.N == 0:
		return StateUnknown
	case p.Down > 0 || p.Dropouts > 0:
		return StateDown
	case th.Critical > 0 && p.RTTMS > ms(th.Critical), th.Critical > 0 && p.LagMS > ms(th.Critical):
		return StateDown
	case th.RTT > 0 && (p.RTTMS > ms(th.RTT) || p.LagMS > ms(th.RTT)),
		th.StutterPct > 0 && p.FreezeMS > th.StutterPct*10, // % of 1000 ms
		p.LossPct > 5:
		return StateDegraded
	}
	return StateOK
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Live folds the samples stream into per-second points per room and view,
// keeping the last Keep of them. It is safe for concurrent use.
type Live struct {
	mu    sync.Mutex
	rooms map[string]*roomLive
	keep  time.Duration
	th    Thresholds
}

// NewLive returns a Live for the rooms of city, keeping keep of history.
func NewLive(city *config.Config, keep time.Duration) *Live {
	l := &Live{rooms: make(map[string]*roomLive), keep: keep, th: ThresholdsOf(city.Watchdog.Detect)}
	for _, r := range city.Rooms {
		l.rooms[r.ID] = &roomLive{views: make(map[string]*series)}
	}
	if l.th.Stale <= 0 {
		l.th.Stale = 5 * time.Second
	}
	return l
}

// Thresholds are the thresholds the states come from.
func (l *Live) Thresholds() Thresholds { return l.th }

// ViewKey names a view: the probe location and the transport.
func ViewKey(s *sample.Sample) string { return s.Location + "/" + string(s.Transport) }

// Add folds samples in. Samples of rooms the city does not have, and ones
// older than the history kept, are ignored.
func (l *Live) Add(now time.Time, ss ...sample.Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	oldest := now.Add(-l.keep).Unix()
	for i := range ss {
		s := &ss[i]
		r := l.rooms[s.Room]
		if r == nil {
			continue
		}
		end := s.WindowStart.Add(time.Duration(s.WindowMS * float64(time.Millisecond)))
		t := end.Unix()
		if t < oldest {
			continue
		}
		k := ViewKey(s)
		v := r.views[k]
		if v == nil {
			v = &series{}
			r.views[k] = v
		}
		if end.After(v.last) {
			v.last = end
		}
		v.pointAt(t).add(s)
		v.trim(oldest)
	}
}

// pointAt returns the point of second t, inserting it in order.
func (v *series) pointAt(t int64) *Point {
	n := len(v.points)
	if n > 0 && v.points[n-1].T == t {
		return &v.points[n-1]
	}
	if n == 0 || v.points[n-1].T < t {
		v.points = append(v.points, Point{T: t})
		return &v.points[n]
	}
	i := sort.Search(n, func(i int) bool { return v.points[i].T >= t })
	if i < n && v.points[i].T == t {
		return &v.points[i]
	}
	v.points = slices.Insert(v.points, i, Point{T: t})
	return &v.points[i]
}

// trim drops points older than oldest.
func (v *series) trim(oldest int64) {
	i := 0
	for i < len(v.points) && v.points[i].T < oldest {
		i++
	}
	if i > 0 {
		v.points = append(v.points[:0], v.points[i:]...)
	}
}

// ViewNow is a view's latest figures and state.
type ViewNow struct {
	State string `json:"state"`
	Point
	// Since is how long ago its newest sample's window ended.
	AgeS float64 `json:"age_s"`
}

// RoomNow is a room's live figures, the worst of its fresh views.
type RoomNow struct {
	State string `json:"state"`
	Point
	Views map[string]ViewNow `json:"views,omitempty"`
}

// recent is how many seconds back the figures of "now" look: a fault shows
// in the second it happened, and a single late sample does not flicker the
// tile.
const recent = 3

// Now returns every room's live figures at now. A view whose newest sample
// is older than the stale threshold no longer counts; a room with no fresh
// view is idle (nobody probes it), or unknown when it had views lately.
func (l *Live) Now(now time.Time) map[string]RoomNow {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]RoomNow, len(l.rooms))
	for id, r := range l.rooms {
		out[id] = l.roomNow(r, now)
	}
	return out
}

// Room returns one room's live figures at now.
func (l *Live) Room(id string, now time.Time) (RoomNow, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rooms[id]
	if r == nil {
		return RoomNow{}, false
	}
	return l.roomNow(r, now), true
}

func (l *Live) roomNow(r *roomLive, now time.Time) RoomNow {
	rn := RoomNow{State: StateIdle}
	lately := false
	for k, v := range r.views {
		if len(v.points) == 0 {
			continue
		}
		age := now.Sub(v.last)
		if age > l.th.Stale {
			// Seen within the last minute, then nothing: the probes went
			// quiet while the room was being watched.
			if age < time.Minute {
				lately = true
			}
			continue
		}
		p := worst(v.points, now.Unix()-recent)
		vn := ViewNow{State: l.th.state(p), Point: p, AgeS: math.Round(age.Seconds()*10) / 10}
		if rn.Views == nil {
			rn.Views = make(map[string]ViewNow)
		}
		rn.Views[k] = vn
		if rn.State == StateIdle {
			rn.State = vn.State
		} else {
			rn.State = worse(rn.State, vn.State)
		}
		rn.Point = merge(rn.Point, p)
	}
	if rn.Views == nil && lately {
		rn.State = StateUnknown
	}
	return rn
}

// worst folds the points from second since on into one: the worst of each
// figure (dropouts summed). With none that recent, the newest point.
func worst(ps []Point, since int64) Point {
	var out Point
	for i := len(ps) - 1; i >= 0 && ps[i].T >= since; i-- {
		out = merge(out, ps[i])
	}
	if out.N == 0 && len(ps) > 0 {
		return ps[len(ps)-1]
	}
	return out
}

// merge is the worst of two points.
func merge(a, b Point) Point {
	if a.N == 0 {
		return b
	}
	if b.N == 0 {
		return a
	}
	out := Point{T: max(a.T, b.T), N: max(a.N, b.N), Dropouts: a.Dropouts + b.Dropouts, Down: max(a.Down, b.Down)}
	out.RTTMS = math.Max(a.RTTMS, b.RTTMS)
	out.LagMS = math.Max(a.LagMS, b.LagMS)
	out.FreezeMS = math.Max(a.FreezeMS, b.FreezeMS)
	out.LossPct = math.Max(a.LossPct, b.LossPct)
	switch {
	case a.fpsN > 0 && b.fpsN > 0:
		out.FPS, out.fpsN = math.Min(a.FPS, b.FPS), a.fpsN+b.fpsN
	case a.fpsN > 0:
		out.FPS, out.fpsN = a.FPS, a.fpsN
	default:
		out.FPS, out.fpsN = b.FPS, b.fpsN
	}
	return out
}

// Spark is a room's sparklines: per second, the worst RTT and stutter and
// the dropouts over its views. Seconds with no data are left out.
type Spark struct {
	T        []int64   `json:"t"`
	RTT      []float64 `json:"rtt"`
	Freeze   []float64 `json:"freeze"`
	Dropouts []int     `json:"dropouts"`
}

// Sparks returns every room's sparklines over the last span before now.
func (l *Live) Sparks(now time.Time, span time.Duration) map[string]Spark {
	l.mu.Lock()
	defer l.mu.Unlock()
	since := now.Add(-span).Unix()
	out := make(map[string]Spark, len(l.rooms))
	for id, r := range l.rooms {
		byT := map[int64]Point{}
		for _, v := range r.views {
			for i := len(v.points) - 1; i >= 0 && v.points[i].T >= since; i-- {
				p := v.points[i]
				byT[p.T] = merge(byT[p.T], p)
			}
		}
		ts := make([]int64, 0, len(byT))
		for t := range byT {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		sp := Spark{T: ts, RTT: make([]float64, len(ts)), Freeze: make([]float64, len(ts)), Dropouts: make([]int, len(ts))}
		for i, t := range ts {
			p := byT[t]
			sp.RTT[i], sp.Freeze[i], sp.Dropouts[i] = round1(p.RTTMS), round1(p.FreezeMS), p.Dropouts
		}
		out[id] = sp
	}
	return out
}

// History returns a room's points per view over the last span.
func (l *Live) History(id string, now time.Time, span time.Duration) map[string][]Point {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rooms[id]
	if r == nil {
		return nil
	}
	since := now.Add(-span).Unix()
	out := make(map[string][]Point, len(r.views))
	for k, v := range r.views {
		i := sort.Search(len(v.points), func(i int) bool { return v.points[i].T >= since })
		out[k] = slices.Clone(v.points[i:])
	}
	return out
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
