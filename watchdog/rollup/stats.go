// Package rollup folds Samples into mergeable roll-ups: per room, probe
// location, transport and hour, and per session, with latency histograms, so
// that a report for any period — a year included — is built from roll-ups,
// never from raw Samples. Stats and Hist are pure values; the Redis side
// (writing roll-ups atomically with the consumer's acknowledgement, packing
// closed days, reading a period back) lives beside them.
package rollup

import (
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// Thresholds decide which observed time counts as degraded.
type Thresholds struct {
	// DegradedRTT: a window whose median round trip (or one-way lag) is
	// above it is degraded (detect.latency.degraded).
	DegradedRTT time.Duration
}

// Stats is what a set of Samples add up to: counters that merge by adding,
// and a histogram of the windows' median round-trip times. Times are
// integer milliseconds. A participant-second is the unit of "as bidders saw
// it": Observed is the measured time, Down the part of it not connected,
// Degraded the connected part in windows that lagged, froze or skipped
// events. Down and Degraded never overlap.
type Stats struct {
	Samples    int64 `json:"samples"`
	ObservedMS int64 `json:"observed_ms"`
	DownMS     int64 `json:"down_ms"`
	DegradedMS int64 `json:"degraded_ms"`
	// SessionMS and PatrolMS split ObservedMS by why the room was probed:
	// a scheduled session (or an ad-hoc "probe now"), or a patrol
	// (日常巡检) between sessions.
	SessionMS int64 `json:"session_ms"`
	PatrolMS  int64 `json:"patrol_ms"`
	// Stutter: freeze (WebRTC) or late-event (WebSocket) episodes and their
	// time.
	Freezes    int64 `json:"freezes"`
	FreezeMS   int64 `json:"freeze_ms"`
	Dropouts   int64 `json:"dropouts"`
	Reconnects int64 `json:"reconnects"`
	MissedSeq  int64 `json:"missed_seq"`
	// RTT holds each window's median round trip (windows that measured
	// one); RTTSumMS their sum, for the mean.
	RTT      Hist  `json:"-"`
	RTTSumMS int64 `json:"rtt_sum_ms"`
	// FirstMS and LastMS are the earliest window start and the latest
	// window end seen (Unix ms), 0 when empty.
	FirstMS int64 `json:"first_ms"`
	LastMS  int64 `json:"last_ms"`
}

// IsPatrol reports whether a Sample was taken on a patrol: patrol Samples
// carry no session.
func IsPatrol(s *sample.Sample) bool { return s.Session == "" }

// Add folds one Sample into st.
func (st *Stats) Add(s *sample.Sample, th Thresholds) {
	obs := int64(s.WindowMS + 0.5)
	if obs <= 0 {
		return
	}
	conn := min(max(int64(s.ConnectedMS+0.5), 0), obs)
	st.Samples++
	st.ObservedMS += obs
	st.DownMS += obs - conn
	if conn > 0 && degraded(s, th) {
		st.DegradedMS += conn
	}
	if IsPatrol(s) {
		st.PatrolMS += obs
	} else {
		st.SessionMS += obs
	}
	st.Freezes += int64(s.FreezeCount)
	st.FreezeMS += int64(s.FreezeMS + 0.5)
	st.Dropouts += int64(s.Dropouts)
	st.Reconnects += int64(s.Reconnects)
	st.MissedSeq += int64(s.MissedSeq)
	if s.RTTCount > 0 {
		st.RTT.Add(s.RTTMedianMS)
		st.RTTSumMS += int64(s.RTTMedianMS + 0.5)
	}
	first := s.WindowStart.UnixMilli()
	last := first + obs
	if st.FirstMS == 0 || first < st.FirstMS {
		st.FirstMS = first
	}
	if last > st.LastMS {
		st.LastMS = last
	}
}

// degraded reports whether a connected window was worse than a bidder
// should suffer: round trip or lag over the threshold, a freeze or late
// event, or events the server skipped.
func degraded(s *sample.Sample, th Thresholds) bool {
	limit := float64(th.DegradedRTT) / float64(time.Millisecond)
	return (limit > 0 && (s.RTTMedianMS > limit || s.LagMedianMS > limit)) ||
		s.FreezeCount > 0 || s.FreezeMS > 0 || s.MissedSeq > 0
}

// Merge adds o into st.
func (st *Stats) Merge(o *Stats) {
	st.Samples += o.Samples
	st.ObservedMS += o.ObservedMS
	st.DownMS += o.DownMS
	st.DegradedMS += o.DegradedMS
	st.SessionMS += o.SessionMS
	st.PatrolMS += o.PatrolMS
	st.Freezes += o.Freezes
	st.FreezeMS += o.FreezeMS
	st.Dropouts += o.Dropouts
	st.Reconnects += o.Reconnects
	st.MissedSeq += o.MissedSeq
	st.RTT.Merge(&o.RTT)
	st.RTTSumMS += o.RTTSumMS
	if o.FirstMS != 0 && (st.FirstMS == 0 || o.FirstMS < st.FirstMS) {
		st.FirstMS = o.FirstMS
	}
	st.LastMS = max(st.LastMS, o.LastMS)
}

// Empty reports whether st holds nothing.
func (st *Stats) Empty() bool { return st.Samples == 0 }

// Availability is the share of observed time the participants were
// connected, as bidders saw it: 1 − Down/Observed; NaN when nothing was
// observed.
func (st *Stats) Availability() float64 {
	if st.ObservedMS == 0 {
		return nan()
	}
	return 1 - float64(st.DownMS)/float64(st.ObservedMS)
}

// GoodShare is the share of observed time neither down nor degraded.
func (st *Stats) GoodShare() float64 {
	if st.ObservedMS == 0 {
		return nan()
	}
	return 1 - float64(st.DownMS+st.DegradedMS)/float64(st.ObservedMS)
}

// RTTMeanMS is the mean of the windows' median round trips; NaN when none.
func (st *Stats) RTTMeanMS() float64 {
	n := st.RTT.Count()
	if n == 0 {
		return nan()
	}
	return float64(st.RTTSumMS) / float64(n)
}

// Dim is what a roll-up is kept per, besides its hour or session.
type Dim struct {
	Room      string           `json:"room"`
	Location  string           `json:"location"`
	Transport sample.Transport `json:"transport"`
}

// DimOf returns a Sample's Dim.
func DimOf(s *sample.Sample) Dim {
	return Dim{Room: s.Room, Location: s.Location, Transport: s.Transport}
}

// Hour returns the UTC hour a window starting at t belongs to.
func Hour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }
