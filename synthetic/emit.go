package synthetic

import (
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// Emitter hands a participant's Samples to its consumer: it stamps each with
// the participant's identity and the next Seq, and never blocks. A Sample the
// consumer has no room for is dropped, the Seq is not used up (Seq stays
// gap-free over what was delivered) and the next delivered Sample's
// SamplesDropped says how many were lost. One goroutine uses it at a time.
type Emitter struct {
	Out         chan<- sample.Sample
	Transport   sample.Transport
	Room        string
	Participant string

	seq     uint64
	dropped int
}

// Emit delivers s if the consumer has room; it reports whether it did.
func (e *Emitter) Emit(s sample.Sample) bool {
	s.Transport = e.Transport
	s.Room = e.Room
	s.Participant = e.Participant
	s.Seq = e.seq + 1
	s.SamplesDropped = e.dropped
	select {
	case e.Out <- s:
		e.seq++
		e.dropped = 0
		return true
	default:
		e.dropped++
		return false
	}
}

// SetLatency fills s's round-trip and lag figures (count, median and
// maximum) from a window's measurements; it sorts both in place.
func SetLatency(s *sample.Sample, rtt, lag []time.Duration) {
	if len(rtt) > 0 {
		s.RTTCount = len(rtt)
		s.RTTMedianMS, s.RTTMaxMS = MedianMax(rtt)
	}
	if len(lag) > 0 {
		s.LagCount = len(lag)
		s.LagMedianMS, s.LagMaxMS = MedianMax(lag)
	}
}
