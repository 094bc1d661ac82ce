package rtc

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// seqTracker validates and extends 16-bit RTP sequence numbers as RFC
// 3550 A.1 does, and counts, per window, the packets expected (the advance of
// the highest extended sequence number) and received. Loss is their
// difference: a late packet counts where it arrives, duplicates are not told
// apart, and a window is never negative.
//
// As in the RFC, a stream is only taken as valid after two packets in
// sequence (probation), and a jump of more than maxDropout is only taken
// as a restart of the sender's numbering when the next packet follows it;
// otherwise the packet is invalid: it counts for nothing. Random garbage is
// therefore (almost) all invalid, never "received".
type seqTracker struct {
	started   bool
	probation bool   // one packet seen, waiting for its successor
	probeSeq  uint16 // that packet's number
	badSeq    int32  // the number that would confirm a restart; -1 none
	highest   int64  // highest extended sequence number seen
	winBase   int64  // highest at the start of the window
	carry     int64  // expected packets of the window before a restart
	received  int64  // packets received in the window
}

// RFC 3550 A.1's MAX_DROPOUT and MAX_MISORDER.
const (
	maxDropout  = 3000
	maxMisorder = 100
)

// seqVerdict is what a sequence number says about its packet.
type seqVerdict int

const (
	seqValid     seqVerdict = iota
	seqProbation            // maybe the stream's first packet: hold it
	seqInvalid              // not of this stream: ignore it
	seqStarted              // valid, and the held packet before it is too
)

// push takes one packet's sequence number and judges the packet.
func (t *seqTracker) push(seq uint16) seqVerdict {
	verdict := seqValid
	if !t.started {
		if !t.probation || seq != t.probeSeq+1 {
			wasProbation := t.probation
			t.probation, t.probeSeq = true, seq
			if wasProbation {
				return seqInvalid // the held packet had no successor
			}
			return seqProbation
		}
		t.started, t.probation, t.badSeq = true, false, -1
		t.highest = int64(t.probeSeq)
		t.winBase = t.highest - 1
		t.received = 1
		verdict = seqStarted
	}
	udelta := seq - uint16(t.highest)
	switch {
	case udelta < maxDropout: // in order, possibly with a gap
		t.highest += int64(udelta)
		t.badSeq = -1
	case udelta <= 1<<16-maxMisorder: // a very large jump
		if t.badSeq < 0 || seq != uint16(t.badSeq) {
			t.badSeq = int32(seq + 1)
			return seqInvalid
		}
		// Two packets in sequence after the jump: the sender restarted
		// its numbering. Keep what the window expected so far.
		t.carry += t.highest - t.winBase
		t.highest = int64(seq)
		t.winBase = t.highest - 2 // the packet before it counted too
		t.badSeq = -1
		t.received++
	default: // duplicate or reordered within MAX_MISORDER
	}
	t.received++
	return verdict
}

// take returns the window's expected and received counts and starts the next.
func (t *seqTracker) take() (expected, received int64) {
	if !t.started {
		return 0, 0
	}
	expected, received = t.highest-t.winBase+t.carry, t.received
	t.winBase, t.received, t.carry = t.highest, 0, 0
	return expected, received
}

// assembler rebuilds video frames from RTP packets: a frame is the packets
// sharing one timestamp, ending with the marker bit; it is complete when no
// sequence number is missing from it and (for VP8) it starts with the first
// packet of partition 0. It keeps only a frame's first bytes, for the stamp.
type assembler struct {
	vp8     bool
	active  bool
	broken  bool
	ts      uint32
	lastSeq uint16
	haveSeq bool
	head    [64]byte
	headN   int
	vp8pkt  codecs.VP8Packet
}

// push takes one video packet; complete reports a whole frame ending with
// it, and head is that frame's first bytes (VP8 descriptors removed).
func (a *assembler) push(p *rtp.Packet) (complete bool, head []byte) {
	inOrder := a.haveSeq && p.SequenceNumber == a.lastSeq+1
	a.lastSeq, a.haveSeq = p.SequenceNumber, true
	payload := p.Payload
	start := false
	if a.vp8 {
		pl, err := a.vp8pkt.Unmarshal(p.Payload)
		if err != nil {
			a.active, a.broken = true, true
			a.ts = p.Timestamp
			return false, nil
		}
		payload = pl
		start = a.vp8pkt.S == 1 && a.vp8pkt.PID == 0
	}
	if !a.active || p.Timestamp != a.ts {
		// A new frame. Without VP8's start bit, it is whole only if nothing
		// was lost since the previous frame's last packet.
		a.active, a.ts, a.headN = true, p.Timestamp, 0
		a.broken = !inOrder
		if a.vp8 {
			a.broken = !start
		}
	} else if !inOrder {
		a.broken = true
	}
	if a.headN < len(a.head) {
		a.headN += copy(a.head[a.headN:], payload)
	}
	if !p.Marker {
		return false, nil
	}
	a.active = false
	if a.broken {
		return false, nil
	}
	return true, a.head[:a.headN]
}

// ntpMiddle is the middle 32 bits of t as an NTP timestamp (RFC 3550
// §4), the unit of a receiver report's LSR and DLSR: 1/65536 s.
func ntpMiddle(t time.Time) uint32 {
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32(secs<<16 | frac>>16)
}

// rttFromReport is the round trip RFC 3550 §6.4.1 derives from a receiver
// report block about a stream we send: arrival − LSR − DLSR. ok is false when
// the receiver has seen no sender report yet (LSR 0) or the result is absurd.
func rttFromReport(arrival uint32, lsr, dlsr uint32) (time.Duration, bool) {
	if lsr == 0 {
		return 0, false
	}
	rtt := int64(int32(arrival - lsr - dlsr))
	if rtt < 0 {
		return 0, false
	}
	return time.Duration(rtt * int64(time.Second) / 65536), true
}
