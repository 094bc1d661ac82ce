package rtc

import "time"

// seqStats follows one RTP stream's sequence numbers and counts its packets
// the way RFC 3550 (A.1, A.3) and webrtc-stats do:
//
//   - validation: a stream is valid only after two packets in sequence
//     (probation); a jump of more than maxDropout is a restart of the
//     sender's numbering only when the next packet follows it, otherwise the
//     packet is invalid and counts for nothing; a packet more than
//     maxMisorder behind is invalid too;
//   - extended sequence numbers (wrap-around counted), which only grow, even
//     across a restart;
//   - expected = highest extended number − base + 1 (a late packet from
//     before the first one lowers the base); lost = expected − received;
//   - duplicates count once: a bitmap remembers the last seqWindow numbers;
//   - a late packet that arrives before any NACK for it is received, in the
//     window where it arrives, so a window's lost can be −1 and the sums over
//     windows are exact; one that arrives after a NACK for it (nacked) is a
//     retransmission: lost in transit and retransmitted, never received.
//
// It is pure: no clock, no goroutine; the meter calls it under its mutex.
type seqStats struct {
	started   bool
	probation bool   // one packet seen, waiting for its successor
	probeSeq  uint16 // that packet's number
	badSeq    int32  // the number that would confirm a restart; -1 none

	highest int64 // highest extended sequence number received
	base    int64 // lowest extended sequence number of the current numbering
	carry   int64 // expected packets of the numberings before a restart

	received      int64 // distinct packets received, not retransmitted
	retransmitted int64

	seen   [seqWindow / 64]uint64 // extended numbers received, by ext % seqWindow
	nacks  [seqWindow / 64]uint64 // extended numbers NACKed and not received
	window lossCounts             // the totals when the window began

	// early holds the numbers NACKed before the stream was valid (a packet
	// lost during probation): they are marked once it starts, so their
	// retransmissions count as such.
	early  [16]uint16
	nEarly int
}

// seqVerdict is what a sequence number says about its packet (seqStats.push).
type seqVerdict int

const (
	seqValid     seqVerdict = iota
	seqProbation            // maybe the stream's first packet: hold it
	seqInvalid              // not of this stream: ignore it
	seqStarted              // valid, and the held packet before it is too
)

// RFC 3550 A.1's MAX_DROPOUT and MAX_MISORDER, and how many recent
// sequence numbers the duplicate and NACK bitmaps remember. A late packet is
// at most maxMisorder behind, well within seqWindow.
const (
	maxDropout  = 3000
	maxMisorder = 100
	seqWindow   = 4096
)

// seqDuplicate is a packet received before: it counts for nothing.
const seqDuplicate = seqStarted + 1

// lossCounts are packet counts of one stream over a window or a session.
type lossCounts struct {
	expected      int64 // advance of the highest extended sequence number
	lost          int64 // expected − received; −1 in a window is possible
	retransmitted int64 // recovered by retransmission after a NACK (part of lost)
}

func (a lossCounts) plus(b lossCounts) lossCounts {
	return lossCounts{a.expected + b.expected, a.lost + b.lost, a.retransmitted + b.retransmitted}
}

func (a lossCounts) minus(b lossCounts) lossCounts {
	return lossCounts{a.expected - b.expected, a.lost - b.lost, a.retransmitted - b.retransmitted}
}

// push takes one packet's sequence number and judges the packet. ext is its
// extended sequence number for seqValid, seqStarted and seqDuplicate; for
// seqStarted the packet held before it (in probation, or the first packet
// after a restart) is ext−1. The arrival time is part of the seam for the
// meter; the counts do not depend on it.
func (s *seqStats) push(seq uint16, _ time.Time) (ext int64, v seqVerdict) {
	if !s.started {
		if !s.probation || seq != s.probeSeq+1 {
			wasProbation := s.probation
			s.probation, s.probeSeq = true, seq
			if wasProbation {
				return 0, seqInvalid // the held packet had no successor
			}
			return 0, seqProbation
		}
		s.started, s.probation, s.badSeq = true, false, -1
		s.base = int64(s.probeSeq)
		s.highest = s.base + 1
		s.mark(s.base)
		s.mark(s.highest)
		s.received = 2
		s.nacked(s.early[:s.nEarly], time.Time{})
		s.nEarly = 0
		return s.highest, seqStarted
	}
	udelta := seq - uint16(s.highest)
	switch {
	case udelta == 0:
		return s.highest, seqDuplicate
	case udelta < maxDropout: // in order, possibly with a gap
		s.advance(s.highest + int64(udelta))
		s.badSeq = -1
		s.received++
		return s.highest, seqValid
	case udelta <= 1<<16-maxMisorder: // a very large jump
		if s.badSeq < 0 || seq != uint16(s.badSeq) {
			s.badSeq = int32(seq + 1)
			return 0, seqInvalid
		}
		// Two packets in sequence after the jump: the sender restarted its
		// numbering. Keep what the old numbering expected; both packets of
		// the new one count, though the first was judged invalid when it
		// came. The extended number keeps growing.
		s.carry += s.highest - s.base + 1
		s.highest += int64(udelta)
		s.base = s.highest - 1
		s.seen, s.nacks = [seqWindow / 64]uint64{}, [seqWindow / 64]uint64{}
		s.mark(s.base)
		s.mark(s.highest)
		s.badSeq = -1
		s.received += 2
		return s.highest, seqStarted
	}
	// Late: reordered, a duplicate, or a retransmission.
	ext = s.highest - int64(1<<16-int(udelta))
	if ext < s.base {
		s.base = ext // sent before the first one that arrived
	} else if s.has(&s.seen, ext) {
		return ext, seqDuplicate
	}
	s.mark(ext)
	if s.has(&s.nacks, ext) {
		s.retransmitted++
	} else {
		s.received++
	}
	return ext, seqValid
}

// nacked records that a NACK asked for seqs: any of them that arrives from
// now on is a retransmission — also one from before the first packet that
// counted (it lowers the base when it comes). Numbers already received, or
// not behind the highest one, are ignored; before the stream is valid the
// numbers are kept until it is.
func (s *seqStats) nacked(seqs []uint16, _ time.Time) {
	if !s.started {
		for _, seq := range seqs {
			if s.nEarly < len(s.early) {
				s.early[s.nEarly] = seq
				s.nEarly++
			}
		}
		return
	}
	for _, seq := range seqs {
		behind := int64(uint16(s.highest) - seq)
		if behind == 0 || behind >= seqWindow {
			continue
		}
		ext := s.highest - behind
		if ext >= s.base && s.has(&s.seen, ext) {
			continue
		}
		w, b := bit(ext)
		s.nacks[w] |= b
	}
}

// take returns this window's counts and starts the next window.
func (s *seqStats) take() lossCounts {
	t := s.total()
	w := t.minus(s.window)
	s.window = t
	return w
}

// total returns the counts of the whole stream so far.
func (s *seqStats) total() lossCounts {
	if !s.started {
		return lossCounts{}
	}
	expected := s.carry + s.highest - s.base + 1
	return lossCounts{expected: expected, lost: expected - s.received, retransmitted: s.retransmitted}
}

// advance moves the highest extended number up to to, forgetting what the
// bitmaps held for the numbers it now covers, and marks to as seen.
func (s *seqStats) advance(to int64) {
	if to-s.highest >= seqWindow {
		s.seen, s.nacks = [seqWindow / 64]uint64{}, [seqWindow / 64]uint64{}
	} else {
		for e := s.highest + 1; e <= to; e++ {
			w, b := bit(e)
			s.seen[w] &^= b
			s.nacks[w] &^= b
		}
	}
	s.highest = to
	s.mark(to)
}

func (s *seqStats) mark(ext int64) {
	w, b := bit(ext)
	s.seen[w] |= b
}

func (s *seqStats) has(bits *[seqWindow / 64]uint64, ext int64) bool {
	w, b := bit(ext)
	return bits[w]&b != 0
}

// bit is where a bitmap keeps ext: its word and the bit in it. An extended
// number can be negative (a late packet from before a stream that started
// near 0); two's complement keeps the modulo right.
func bit(ext int64) (word int, mask uint64) {
	i := uint64(ext) & (seqWindow - 1)
	return int(i / 64), 1 << (i % 64)
}
