package hall

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bidwatch/bidwatch/synthetic/hall/media"
)

// Fault is what goes wrong in one room. The persistent faults (latency,
// jitter, loss, refuse, silent) hold until cleared or, when DurationMS > 0,
// until that many milliseconds have passed; the one-shots (stall, drop) act
// once, when the fault is set. The zero Fault is a healthy room.
//
// The JSON form is the admin API's body (docs/hall-protocol.md). The media
// (WebRTC) side adds its own fields here.
type Fault struct {
	// LatencyMS delays every outbound frame (events, acks and pongs).
	LatencyMS float64 `json:"latency_ms,omitempty"`
	// JitterMS adds a uniform random [0, JitterMS) to each frame's delay;
	// frames on a connection never overtake each other.
	JitterMS float64 `json:"jitter_ms,omitempty"`
	// LossPct drops each event to each connection with this probability
	// (0–100). Acks and pongs are never dropped.
	LossPct float64 `json:"loss_pct,omitempty"`
	// StallMS (one-shot) holds the room's events and acks for this long,
	// starting now, then flushes them in order. Pongs still flow.
	StallMS int `json:"stall_ms,omitempty"`
	// Drop (one-shot) closes every connection of the room abruptly, without
	// a close frame.
	Drop bool `json:"drop,omitempty"`
	// Refuse answers new upgrade requests with HTTP 503.
	Refuse bool `json:"refuse,omitempty"`
	// Silent keeps connections open but writes nothing: no events, acks or
	// pongs. Frames due while silent are lost.
	Silent bool `json:"silent,omitempty"`
	// DurationMS, when > 0, clears the persistent faults after that long.
	DurationMS int `json:"duration_ms,omitempty"`

	// Fault holds the media (WebRTC) faults — freeze_ms, packet_loss_pct,
	// media_delay_ms, media_jitter_ms, bitrate_pct, kill_ice,
	// refuse_sessions — which share the JSON object and DurationMS.
	media.Fault
}

// MediaFault is f's media part, with f's duration.
func (f Fault) MediaFault() media.Fault {
	m := f.Fault
	m.DurationMS = f.DurationMS
	return m
}

// hasMedia reports whether f sets any media fault.
func (f Fault) hasMedia() bool {
	m := f.Fault
	m.DurationMS = 0
	return m != media.Fault{}
}

// Limits on fault values; beyond them a fault is a typo, not a drill.
const (
	maxDelayMS    = 60_000
	maxStallMS    = 3_600_000
	maxDurationMS = 7 * 24 * 3_600_000
)

// ErrBadFault is wrapped by the error of a fault with an out-of-range value.
var ErrBadFault = errors.New("bad fault")

// Validate reports every out-of-range value, each named by its JSON key.
func (f Fault) Validate() error {
	var errs []error
	bad := func(key string, v any, want string) {
		errs = append(errs, fmt.Errorf("%w: %s: %v out of range (want %s)", ErrBadFault, key, v, want))
	}
	floatIn := func(key string, v, hi float64) {
		if math.IsNaN(v) || v < 0 || v > hi {
			bad(key, v, fmt.Sprintf("0 to %g", hi))
		}
	}
	floatIn("latency_ms", f.LatencyMS, maxDelayMS)
	floatIn("jitter_ms", f.JitterMS, maxDelayMS)
	floatIn("loss_pct", f.LossPct, 100)
	if f.StallMS < 0 || f.StallMS > maxStallMS {
		bad("stall_ms", f.StallMS, fmt.Sprintf("0 to %d", maxStallMS))
	}
	if f.DurationMS < 0 || f.DurationMS > maxDurationMS {
		bad("duration_ms", f.DurationMS, fmt.Sprintf("0 to %d", maxDurationMS))
	}
	if err := f.MediaFault().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrBadFault, err))
	}
	return errors.Join(errs...)
}

// persistent is the part of f that holds until cleared or expired.
func (f Fault) persistent() Fault {
	return Fault{
		LatencyMS:  f.LatencyMS,
		JitterMS:   f.JitterMS,
		LossPct:    f.LossPct,
		Refuse:     f.Refuse,
		Silent:     f.Silent,
		DurationMS: f.DurationMS,
	}
}

// faultState is a room's faults as the hot path reads them: an immutable
// snapshot swapped atomically, with times on the hall's monotonic clock
// (durations since the hall's epoch).
type faultState struct {
	set        Fault         // persistent faults as set
	latency    time.Duration // fixed part of every frame's delay
	jitter     time.Duration // random part: [0, jitter)
	loss       float64       // probability 0–1
	refuse     bool
	silent     bool
	expires    time.Duration // persistent faults end here; 0 = never
	stallUntil time.Duration // events and acks are held until here; 0 = none
}

// noFaults is the healthy state.
var noFaults = &faultState{}

// newFaultState builds the state for f set at now, keeping a stall still in
// progress from before unless f starts a new one.
func newFaultState(f Fault, now time.Duration, prev *faultState) *faultState {
	s := &faultState{
		set:     f.persistent(),
		latency: msDuration(f.LatencyMS),
		jitter:  msDuration(f.JitterMS),
		loss:    f.LossPct / 100,
		refuse:  f.Refuse,
		silent:  f.Silent,
	}
	if f.DurationMS > 0 {
		s.expires = now + time.Duration(f.DurationMS)*time.Millisecond
	}
	if prev != nil && prev.stallUntil > now {
		s.stallUntil = prev.stallUntil
	}
	if f.StallMS > 0 {
		s.stallUntil = max(s.stallUntil, now+time.Duration(f.StallMS)*time.Millisecond)
	}
	return s
}

// active reports whether the persistent faults still hold at now.
func (s *faultState) active(now time.Duration) bool {
	return s.expires == 0 || now < s.expires
}

// stalled reports whether events and acks are held at now.
func (s *faultState) stalled(now time.Duration) bool { return now < s.stallUntil }

// isSilent reports whether the room writes nothing at now.
func (s *faultState) isSilent(now time.Duration) bool { return s.silent && s.active(now) }

// isRefusing reports whether new connections are refused at now.
func (s *faultState) isRefusing(now time.Duration) bool { return s.refuse && s.active(now) }

// delay returns the fixed delay and the jitter span in force at now.
func (s *faultState) delay(now time.Duration) (time.Duration, time.Duration) {
	if !s.active(now) {
		return 0, 0
	}
	return s.latency, s.jitter
}

// lossProb returns the event loss probability in force at now.
func (s *faultState) lossProb(now time.Duration) float64 {
	if !s.active(now) {
		return 0
	}
	return s.loss
}

// view is the fault as reported to operators at now: the persistent faults
// if still in force, with DurationMS the time left, and StallMS the time
// left of a stall in progress.
func (s *faultState) view(now time.Duration) Fault {
	var f Fault
	if s.active(now) {
		f = s.set
		if s.expires > 0 {
			f.DurationMS = int(math.Ceil(float64(s.expires-now) / float64(time.Millisecond)))
		}
	}
	if s.stalled(now) {
		f.StallMS = int(math.Ceil(float64(s.stallUntil-now) / float64(time.Millisecond)))
	}
	return f
}

// msDuration converts float milliseconds to a Duration.
func msDuration(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond))
}
