package media

import (
	"fmt"
	"slices"
	"sync"
)

const (
	// maxDroppedSeqs bounds the dropped sequence numbers kept per SSRC.
	maxDroppedSeqs = 100_000
	// maxDropSSRCs bounds the SSRCs the drop log keeps; the oldest is
	// forgotten first.
	maxDropSSRCs = 256
)

// KindCount counts one kind's (video, audio) packets at the loss fault,
// summed over a room's viewers.
type KindCount struct {
	// Sent counts the packets that reached the loss fault the first time
	// (a viewer's packets, not the room's: two viewers count twice).
	Sent uint64
	// Dropped counts those the loss fault dropped.
	Dropped uint64
	// Retransmitted counts the packets resent on a NACK; they are not
	// subject to the loss fault.
	Retransmitted uint64
}

// DropLog is what a room's loss fault dropped.
type DropLog struct {
	Video, Audio KindCount
	// Seqs holds, per SSRC as sent (one per viewer and kind), the RTP
	// sequence numbers the loss fault dropped, in the order they were sent:
	// the last 100 000 of them, for the last 256 SSRCs. A viewer that did
	// not NACK misses exactly these, so its true loss over a range of
	// sequence numbers is the count of these in the range over the range's
	// length. Sequence numbers are the room's, the same for every viewer of
	// a track: only the SSRC differs.
	Seqs map[uint32][]uint16
}

// dropLog is a room's DropLog as it is written.
type dropLog struct {
	mu           sync.Mutex
	video, audio KindCount
	seqs         map[uint32]*seqRing
	order        []uint32 // SSRCs, oldest first
}

func newDropLog() *dropLog { return &dropLog{seqs: map[uint32]*seqRing{}} }

// record counts one first transmission and, if dropped, logs its number.
func (l *dropLog) record(video bool, ssrc uint32, seq uint16, dropped bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := &l.audio
	if video {
		k = &l.video
	}
	k.Sent++
	if !dropped {
		return
	}
	k.Dropped++
	ring := l.seqs[ssrc]
	if ring == nil {
		if len(l.order) >= maxDropSSRCs {
			delete(l.seqs, l.order[0])
			l.order = l.order[1:]
		}
		ring = &seqRing{}
		l.seqs[ssrc] = ring
		l.order = append(l.order, ssrc)
	}
	ring.add(seq)
}

func (l *dropLog) retransmitted(video bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if video {
		l.video.Retransmitted++
	} else {
		l.audio.Retransmitted++
	}
}

func (l *dropLog) snapshot() DropLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := DropLog{Video: l.video, Audio: l.audio, Seqs: make(map[uint32][]uint16, len(l.seqs))}
	for ssrc, r := range l.seqs {
		d.Seqs[ssrc] = r.list()
	}
	return d
}

// seqRing keeps the last maxDroppedSeqs sequence numbers.
type seqRing struct {
	buf  []uint16
	next int // where the next one goes once buf is full
}

func (r *seqRing) add(seq uint16) {
	if len(r.buf) < maxDroppedSeqs {
		r.buf = append(r.buf, seq)
		return
	}
	r.buf[r.next] = seq
	r.next = (r.next + 1) % maxDroppedSeqs
}

func (r *seqRing) list() []uint16 {
	return slices.Concat(r.buf[r.next:], r.buf[:r.next])
}

// Dropped returns what the room's loss fault dropped since the server
// started.
func (s *Server) Dropped(room string) (DropLog, error) {
	rm, ok := s.rooms[room]
	if !ok {
		return DropLog{}, fmt.Errorf("%w %q", ErrUnknownRoom, room)
	}
	return rm.drops.snapshot(), nil
}
