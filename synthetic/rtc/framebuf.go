package rtc

import (
	"time"

	"github.com/pion/rtp"

	"github.com/bidwatch/bidwatch/internal/framestamp"
)

// The frame buffer's bounds: a complete frame waits at most fbHoldFor for
// the frames it depends on, at most fbMaxHeld frames wait, at most
// fbMaxFrames frames (waiting or still being assembled) are tracked, and the
// arrival of the last fbWindow sequence numbers is remembered.
const (
	fbHoldFor   = 3 * time.Second
	fbMaxHeld   = 300
	fbMaxFrames = 400
	fbWindow    = 1 << 12
)

// What the frame buffer remembers of one sequence number.
const (
	fbPresent  uint8 = 1 << iota // the packet arrived
	fbBoundary                   // it ends a frame (marker bit) or is padding
)

// renderedFrame is a frame a decoder would have shown, and when.
type renderedFrame struct {
	ts       uint32    // RTP timestamp
	key      bool      // a keyframe
	at       time.Time // render time: arrival of the packet that made it renderable
	stamp    framestamp.Stamp
	hasStamp bool // stamp came from one of the frame's packets
}

// frameCounts are the frame buffer's cumulative counts, as webrtc-stats
// counts them: framesReceived (complete frames), framesDecoded (rendered),
// framesDropped (complete frames never rendered), keyFramesDecoded. A frame
// received and neither rendered nor dropped is still held:
// received = rendered + dropped + held.
type frameCounts struct {
	received, rendered, dropped, keyRendered int
}

// fbFrame is one frame (one RTP timestamp) being assembled or held. Its
// packets are a range of extended sequence numbers; payloads are not kept.
type fbFrame struct {
	ts       uint32
	lo, hi   int64 // lowest and highest extended sequence number seen
	end      int64 // the marker packet's, -1 until it comes
	n        int64 // packets seen
	firstAt  time.Time
	heldAt   time.Time // when it became complete
	complete bool
	broken   bool // a packet's descriptor was malformed: it never completes
	loStart  bool // the packet at lo starts a frame
	key      bool
	picture  bool // some packet carries picture data
	layered  bool
	sync     bool
	hasTL0   bool
	tid, tl0 uint8
	stamp    framestamp.Stamp
	hasStamp bool
}

// frameBuffer decides, as a receiver's frame buffer and decoder would,
// which video frames are shown and when. Packets come in with their extended
// sequence numbers; a frame (one RTP timestamp) is complete when every packet
// from its first to its marker packet has arrived, and rendered when it is
// complete and the frames it depends on were rendered (see renderable). A
// complete frame waiting for a reference is held; it is rendered the moment
// the gap is filled, dropped when a later keyframe renders, or dropped after
// fbHoldFor. Frames are rendered in decode order: a frame older than the last
// rendered one is dropped.
//
// It is pure: no goroutines, no clock of its own (insert is told the time).
type frameBuffer struct {
	d     depacketizer
	exact bool // d's start flag marks a frame's first packet exactly

	started bool
	highest int64 // highest extended sequence number seen
	slots   [fbWindow]uint8

	frames   []fbFrame
	heldN    int       // complete picture frames among frames
	complete int       // complete frames among frames (with invisible ones)
	oldest   time.Time // no frame in frames is older (firstAt or heldAt)

	haveChain bool  // a keyframe rendered and nothing it led to was lost for good
	lastEnd   int64 // last sequence number of the last rendered frame (decode position)
	contig    int64 // every sequence number in (lastEnd, contig] arrived
	haveTL0   bool  // lastTL0 is the TL0PICIDX of the last rendered TL0 frame
	lastTL0   uint8

	blockedAt time.Time
	fc        frameCounts
}

func newFrameBuffer(d depacketizer) *frameBuffer {
	b := &frameBuffer{d: d, lastEnd: -1, contig: -1}
	if e, ok := d.(exactStarter); ok {
		b.exact = e.exactStart()
	}
	return b
}

// counts returns the cumulative counts since newFrameBuffer.
func (b *frameBuffer) counts() frameCounts { return b.fc }

// blocked reports whether rendering is stuck and since when: a packet beyond
// a missing one has arrived and the gap is not filled, or video arrives and
// no keyframe has rendered yet, or the frames after the last rendered one
// were lost for good (needKey: only a keyframe helps). ok is false when
// nothing waits.
func (b *frameBuffer) blocked() (since time.Time, needKey bool, ok bool) {
	if b.blockedAt.IsZero() {
		return time.Time{}, false, false
	}
	return b.blockedAt, !b.haveChain, true
}

// insert takes one valid video packet with its extended sequence number and
// its arrival time, and appends to dst the frames it made renderable, in
// decode order. A duplicate, or a packet too old to place, changes nothing.
func (b *frameBuffer) insert(dst []renderedFrame, ext int64, p *rtp.Packet, stamp framestamp.Stamp, hasStamp bool, at time.Time) []renderedFrame {
	if !b.started {
		b.started, b.highest, b.contig = true, ext, ext-1
	}
	switch {
	case ext > b.highest:
		b.advance(ext)
	case ext <= b.highest-fbWindow:
		return dst // too old to tell from a newer packet
	}
	slot := &b.slots[ext&(fbWindow-1)]
	if *slot&fbPresent != 0 {
		return dst // duplicate
	}
	*slot |= fbPresent
	if p.Marker || len(p.Payload) == 0 {
		*slot |= fbBoundary
	}
	changed := false
	if len(p.Payload) > 0 && ext > b.lastEnd {
		changed = b.addPacket(ext, p, stamp, hasStamp, at)
	}
	if *slot&fbBoundary != 0 && !b.exact {
		// The end of one frame tells where the next starts.
		if i := b.frameAt(ext + 1); i >= 0 {
			changed = b.check(&b.frames[i], at) || changed
		}
	}
	if b.contig == ext-1 {
		b.extendContig()
		changed = true
	}
	if changed && b.complete > 0 {
		dst = b.render(dst, at)
	}
	if !b.oldest.IsZero() && at.Sub(b.oldest) > fbHoldFor {
		b.expire(at)
	}
	gap := b.haveChain && b.contig < b.highest
	switch {
	case !b.haveChain || gap:
		if b.blockedAt.IsZero() {
			b.blockedAt = at
		}
	default:
		b.blockedAt = time.Time{}
	}
	return dst
}

// addPacket adds a packet with picture payload to its frame and reports
// whether that completed the frame.
func (b *frameBuffer) addPacket(ext int64, p *rtp.Packet, stamp framestamp.Stamp, hasStamp bool, at time.Time) bool {
	var info packetInfo
	var err error
	if b.d != nil {
		info, err = b.d.parse(p.Payload)
	}
	f := b.frameFor(p.Timestamp, ext, at)
	if f.complete {
		return false // a stray packet of a frame already whole: ignore it
	}
	switch {
	case f.n == 0:
		f.lo, f.hi, f.loStart = ext, ext, info.start
	case ext < f.lo:
		f.lo, f.loStart = ext, info.start
	case ext > f.hi:
		f.hi = ext
	}
	f.n++
	if p.Marker {
		f.end = ext
	}
	if err != nil {
		f.broken = true
		return false
	}
	f.key = f.key || info.key
	f.picture = f.picture || !info.nonPicture
	if info.layered {
		f.layered, f.tid, f.sync = true, info.tid, info.sync
	}
	if info.hasTL0 {
		f.hasTL0, f.tl0 = true, info.tl0
	}
	if hasStamp && !f.hasStamp {
		f.stamp, f.hasStamp = stamp, true
	}
	return b.check(f, at)
}

// check marks f complete if it now is, and reports whether it became so.
func (b *frameBuffer) check(f *fbFrame, at time.Time) bool {
	if f.complete || f.broken || f.end != f.hi || f.n != f.end-f.lo+1 {
		return false
	}
	start := f.loStart
	if !b.exact {
		// The frame starts at lo when the packet before it ended a frame,
		// or (as libwebrtc takes an H.264 keyframe) lo begins a keyframe.
		prev := f.lo - 1
		afterEnd := prev > b.highest-fbWindow && b.slots[prev&(fbWindow-1)] == fbPresent|fbBoundary
		start = afterEnd && (start || b.d == nil) || start && f.key
	}
	if !start {
		return false
	}
	f.complete, f.heldAt = true, at
	b.complete++
	if f.picture {
		b.fc.received++
		b.heldN++
		if b.heldN > fbMaxHeld {
			b.dropOldest(true)
		}
	}
	return true
}

// frameFor returns the frame of RTP timestamp ts, adding it if new.
func (b *frameBuffer) frameFor(ts uint32, ext int64, at time.Time) *fbFrame {
	for i := len(b.frames) - 1; i >= 0; i-- {
		if b.frames[i].ts == ts {
			return &b.frames[i]
		}
	}
	if len(b.frames) >= fbMaxFrames {
		b.dropOldest(false)
	}
	if b.oldest.IsZero() {
		b.oldest = at
	}
	b.frames = append(b.frames, fbFrame{ts: ts, end: -1, firstAt: at})
	return &b.frames[len(b.frames)-1]
}

// frameAt returns the index of the frame whose first packet is ext, or -1.
func (b *frameBuffer) frameAt(ext int64) int {
	for i := range b.frames {
		if b.frames[i].lo == ext && b.frames[i].n > 0 {
			return i
		}
	}
	return -1
}

// advance moves the highest sequence number up to ext, forgetting what the
// window held for the numbers it now reuses.
func (b *frameBuffer) advance(ext int64) {
	for s, n := b.highest+1, 0; s <= ext && n < fbWindow; s, n = s+1, n+1 {
		b.slots[s&(fbWindow-1)] = 0
	}
	b.highest = ext
}

// extendContig moves contig up over every packet that has arrived.
func (b *frameBuffer) extendContig() {
	for b.contig < b.highest {
		next := b.contig + 1
		if next <= b.highest-fbWindow || b.slots[next&(fbWindow-1)]&fbPresent == 0 {
			return
		}
		b.contig = next
	}
}

// render renders every frame that can be, lowest sequence numbers first,
// and appends the picture frames to dst.
func (b *frameBuffer) render(dst []renderedFrame, at time.Time) []renderedFrame {
	for {
		// The next frame in decode order: the one with the lowest first
		// packet after the decode position, whatever its state.
		next := -1
		for i := range b.frames {
			if next < 0 || b.frames[i].lo < b.frames[next].lo {
				next = i
			}
		}
		best := -1
		for i := range b.frames {
			f := &b.frames[i]
			if f.complete && b.renderable(f, i == next) && (best < 0 || f.lo < b.frames[best].lo) {
				best = i
			}
		}
		if best < 0 {
			return dst
		}
		f := b.frames[best]
		b.remove(best)
		if f.picture {
			b.fc.rendered++
			if f.key {
				b.fc.keyRendered++
			}
			dst = append(dst, renderedFrame{ts: f.ts, key: f.key, at: at, stamp: f.stamp, hasStamp: f.hasStamp})
		}
		if f.key || b.d == nil {
			b.haveChain = true
			b.haveTL0 = false
		}
		if f.hasTL0 && (f.key || !f.layered || f.tid == 0) {
			b.haveTL0, b.lastTL0 = true, f.tl0
		}
		b.lastEnd = f.hi
		// Frames older than this one can no longer be decoded.
		for i := 0; i < len(b.frames); {
			if b.frames[i].lo <= b.lastEnd {
				b.drop(i)
				continue
			}
			i++
		}
		if b.contig < b.lastEnd {
			b.contig = b.lastEnd
			b.extendContig()
		}
	}
}

// renderable reports whether complete frame f can be decoded now: a
// keyframe always; nothing else until a keyframe has rendered (or ever,
// for an unknown codec, where every complete frame is taken as decodable).
// Without temporal layers a frame depends on the one before it: it renders
// when it is next in decode order and every packet since the last rendered
// frame arrived (libwebrtc's RtpSeqNumOnlyRefFinder). With VP8 temporal
// layers (libwebrtc's RtpVp8RefFinder, simplified): a TL0 frame depends on
// the previous TL0 frame (its TL0PICIDX follows the last rendered one's), a
// TID>0 frame with Y on its TL0 frame only, any other on the previous frame
// of its layer or below, taken as: its TL0 frame rendered and it is next in
// decode order.
func (b *frameBuffer) renderable(f *fbFrame, next bool) bool {
	switch {
	case b.d == nil || f.key:
		return true
	case !b.haveChain:
		return false
	}
	inOrder := next && b.contig >= f.lo-1
	if !f.layered || !f.picture {
		return inOrder
	}
	tl0Known := f.hasTL0 && b.haveTL0
	switch {
	case f.tid == 0 && tl0Known:
		return f.tl0 == b.lastTL0+1
	case f.sync && tl0Known:
		return f.tl0 == b.lastTL0
	case f.tid > 0 && !f.sync:
		return inOrder && (!tl0Known || f.tl0 == b.lastTL0)
	}
	return inOrder
}

// expire drops the frames held longer than fbHoldFor and forgets the
// frames assembled for longer: what they led to needs a keyframe now.
func (b *frameBuffer) expire(at time.Time) {
	b.oldest = time.Time{}
	for i := 0; i < len(b.frames); {
		f := &b.frames[i]
		since := f.firstAt
		if f.complete {
			since = f.heldAt
		}
		if at.Sub(since) > fbHoldFor {
			b.drop(i)
			b.haveChain = false
			continue
		}
		if b.oldest.IsZero() || since.Before(b.oldest) {
			b.oldest = since
		}
		i++
	}
}

// dropOldest drops the frame with the lowest sequence numbers, complete or
// not as asked (if there is none, any frame): a frame that is lost for good.
func (b *frameBuffer) dropOldest(complete bool) {
	victim := -1
	for i := range b.frames {
		f := &b.frames[i]
		if f.complete == complete && (victim < 0 || f.lo < b.frames[victim].lo) {
			victim = i
		}
	}
	if victim < 0 {
		victim = 0
	}
	if victim < len(b.frames) {
		b.drop(victim)
		b.haveChain = false
	}
}

// drop removes frame i, counting it dropped if it was a complete picture.
func (b *frameBuffer) drop(i int) {
	if f := &b.frames[i]; f.complete && f.picture {
		b.fc.dropped++
	}
	b.remove(i)
}

// remove takes frame i out of the buffer, keeping the counts of what is held.
func (b *frameBuffer) remove(i int) {
	f := &b.frames[i]
	if f.complete {
		b.complete--
		if f.picture {
			b.heldN--
		}
	}
	last := len(b.frames) - 1
	b.frames[i] = b.frames[last]
	b.frames[last] = fbFrame{}
	b.frames = b.frames[:last]
	if last == 0 {
		b.oldest = time.Time{}
	}
}
