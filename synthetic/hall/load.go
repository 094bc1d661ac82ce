package hall

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Load is a saturation fault of a simulated server: every frame of every
// room the server hosts is delayed by LatencyMS, on top of the rooms' own
// faults (the delays of a room's servers add up). It is what makes a
// server's trouble reach its rooms: move a room to another server
// (Hall.MoveRoom) and the old server's load no longer delays it. When
// DurationMS > 0 the load clears itself after that long.
type Load struct {
	LatencyMS  float64 `json:"latency_ms,omitempty"`
	DurationMS int     `json:"duration_ms,omitempty"`
}

// ErrBadLoad is wrapped by the error of a load with an out-of-range value.
var ErrBadLoad = errors.New("bad load")

// Validate reports every out-of-range value, each named by its JSON key.
func (l Load) Validate() error {
	var errs []error
	if math.IsNaN(l.LatencyMS) || l.LatencyMS < 0 || l.LatencyMS > maxDelayMS {
		errs = append(errs, fmt.Errorf("%w: latency_ms: %v out of range (want 0 to %d)", ErrBadLoad, l.LatencyMS, maxDelayMS))
	}
	if l.DurationMS < 0 || l.DurationMS > maxDurationMS {
		errs = append(errs, fmt.Errorf("%w: duration_ms: %d out of range (want 0 to %d)", ErrBadLoad, l.DurationMS, maxDurationMS))
	}
	return errors.Join(errs...)
}

// loadState is a server's load as set, with its end time on the hall's
// clock; read on every frame of the server's rooms.
type loadState struct {
	set     Load
	latency time.Duration
	expires time.Duration // 0 = never
}

// SetLoad replaces the server's load. It returns an error wrapping
// ErrBadLoad, and changes nothing, if a value is out of range. Frames
// already queued keep their delay; frames queued from now on get the new one.
func (s *Server) SetLoad(l Load) error {
	if err := l.Validate(); err != nil {
		return err
	}
	st := &loadState{set: l, latency: msDuration(l.LatencyMS)}
	if l.DurationMS > 0 {
		st.expires = s.hall.now() + time.Duration(l.DurationMS)*time.Millisecond
	}
	s.load.Store(st)
	s.log.Info("load set", "latency_ms", l.LatencyMS, "duration_ms", l.DurationMS)
	return nil
}

// ClearLoad ends the server's load.
func (s *Server) ClearLoad() {
	s.load.Store(&loadState{})
	s.log.Info("load cleared")
}

// Load is the server's load in force, with DurationMS the time it has
// left; the zero Load when there is none.
func (s *Server) Load() Load {
	st := s.load.Load()
	if st.expires == 0 {
		return st.set
	}
	now := s.hall.now()
	if now >= st.expires {
		return Load{}
	}
	l := st.set
	l.DurationMS = int(math.Ceil(float64(st.expires-now) / float64(time.Millisecond)))
	return l
}

// latency is the delay the server's load adds to its rooms' frames at now.
func (s *Server) latency(now time.Duration) time.Duration {
	st := s.load.Load()
	if st.expires > 0 && now >= st.expires {
		return 0
	}
	return st.latency
}
