package watchdog

import (
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

// aggKey is one series in one window.
type aggKey struct {
	series detect.SeriesKey
	window int64
}

// reducer sums Samples into one Agg per series and window.
type reducer struct {
	downPct float64
	aggs    map[aggKey]*detect.Agg
	order   []aggKey
}

func newReducer(downPct float64) *reducer {
	return &reducer{downPct: downPct, aggs: map[aggKey]*detect.Agg{}}
}

// add folds one Sample in.
func (r *reducer) add(s *sample.Sample) {
	k := aggKey{detect.SeriesKey{Room: s.Room, Probe: s.Probe, Transport: string(s.Transport)}, s.WindowStart.UnixNano()}
	a := r.aggs[k]
	if a == nil {
		a = &detect.Agg{Room: s.Room, Probe: s.Probe, Transport: string(s.Transport), Location: s.Location, Session: s.Session, Window: s.WindowStart.UTC()}
		r.aggs[k] = a
		r.order = append(r.order, k)
	}
	// One Sample is an Agg of one; Merge holds the single list of how
	// measures combine.
	var rtt [1]float64
	one := detect.Agg{
		End:         s.WindowStart.Add(time.Duration(s.WindowMS * float64(time.Millisecond))).UTC(),
		Samples:     1,
		WindowMS:    s.WindowMS,
		ConnectedMS: s.ConnectedMS,
		FreezeMS:    s.FreezeMS,
		FreezeCount: s.FreezeCount,
		Dropouts:    s.Dropouts,
		Reconnects:  s.Reconnects,
		OutageMS:    s.OutageMS,
		LagMaxMS:    s.LagMaxMS,
		LossMaxPct:  s.LossPct,
		Error:       s.Error,
	}
	if down(s, r.downPct) {
		one.Down = 1
	}
	if s.RTTCount > 0 {
		rtt[0] = s.RTTMedianMS
		one.RTT, one.RTTMaxMS = rtt[:], s.RTTMaxMS
	}
	a.Merge(&one)
}

// down reports whether a participant was down in its window: it lost its
// connection, is not connected (after its first window, or with an error
// that says why), or was connected less than pct percent of the window. A
// participant's first window, while it is still connecting, is not a
// dropout.
func down(s *sample.Sample, pct float64) bool {
	switch {
	case s.Dropouts > 0:
		return true
	case !s.Connected && (s.Seq > 1 || s.Error != ""):
		return true
	case s.Seq > 1 && s.WindowMS > 0 && s.ConnectedMS*100 < pct*s.WindowMS:
		return true
	}
	return false
}

// take returns the Aggs in the order their series were first seen, and
// empties the reducer.
func (r *reducer) take() []detect.Agg {
	out := make([]detect.Agg, 0, len(r.order))
	for _, k := range r.order {
		out = append(out, *r.aggs[k])
	}
	clear(r.aggs)
	r.order = r.order[:0]
	return out
}
