package rtc

import (
	"time"

	"github.com/pion/rtp"

	"github.com/bidwatch/bidwatch/internal/framestamp"
)

// stream is the receive state of one RTP stream of a connection: the
// packet accounting (seqStats), the jitter, and for video the frame buffer
// that decides which frames a decoder would show, for audio the Opus
// concealment. Its window counts are moved into the meter's window by
// harvest.
type stream struct {
	ssrc    uint32
	mime    string
	started bool // a packet of ssrc has arrived
	active  bool // valid packets arrived in this window
	seq     seqStats
	jit     rtpJitter
	bytes   int64     // this window's
	lastAt  time.Time // when the last valid packet arrived

	fb       *frameBuffer // video
	fcBase   frameCounts  // fb's counts when the window began
	rendered []renderedFrame
	conceal  opusConcealment // audio

	// held is a packet kept until the next confirms it: the stream's first
	// (probation), or the first after a jump (a restart of the numbering).
	held      *rtp.Packet
	heldSize  int
	heldAt    time.Time
	heldStamp stampOf

	// sr is the stream's last RTCP sender report: it maps RTP time to the
	// sender's wall clock, for lag when frames carry no stamp.
	sr senderClock
}

// stampOf is a frame stamp as a packet carried it, if it did.
type stampOf struct {
	st framestamp.Stamp
	ok bool
}

// reset makes st the stream ssrc of codec mime, from its first packet on;
// clockRate is its RTP clock. A sender report already received about ssrc is
// kept.
func (st *stream) reset(ssrc uint32, mime string, video bool, clockRate uint32) {
	sr := st.sr
	*st = stream{ssrc: ssrc, mime: mime, started: true, jit: newRTPJitter(clockRate)}
	if sr.have && sr.ssrc == ssrc {
		st.sr = sr
	}
	if video {
		st.fb = newFrameBuffer(newDepacketizer(mime))
	}
}

// hold keeps p until the next packet confirms it.
func (st *stream) hold(p *rtp.Packet, stamp stampOf, size int, at time.Time) {
	st.held, st.heldSize, st.heldAt, st.heldStamp = p.Clone(), size, at, stamp
}

// harvest adds the stream's counts since the last harvest to kw and, for
// video, fc; for audio, the concealed and total samples to concealed and
// total.
func (st *stream) harvest(kw *kindWindow, fc *frameCounts, concealed, total *int64) {
	if !st.started {
		return
	}
	lc := st.seq.take()
	kw.loss = kw.loss.plus(lc)
	kw.bytes += st.bytes
	st.bytes = 0
	if st.active {
		kw.jitter, kw.active = st.jit.value(), true
		st.active = false
	}
	if st.fb != nil {
		c := st.fb.counts()
		fc.received += c.received - st.fcBase.received
		fc.rendered += c.rendered - st.fcBase.rendered
		fc.dropped += c.dropped - st.fcBase.dropped
		fc.keyRendered += c.keyRendered - st.fcBase.keyRendered
		st.fcBase = c
		return
	}
	c, t := st.conceal.add(lc)
	*concealed += c
	*total += t
}

// The RTP clock rates: every WebRTC video codec's, and Opus's.
const (
	videoClock = 90000
	audioClock = 48000
)

// onRTP takes one received RTP packet of size bytes, of codec mime, with the
// frame stamp it carried. Packets that RFC 3550's sequence checks reject are
// counted as invalid and otherwise ignored: they are not media (a stream of
// garbage ends in "no media", not in numbers); a duplicate counts for
// nothing.
func (m *meter) onRTP(gen uint64, video bool, mime string, p *rtp.Packet, stamp stampOf, size int, at time.Time) {
	m.mu.Lock()
	defer m.unlock()
	md := m.current(gen)
	if md == nil {
		return
	}
	st, clock := &md.audio, uint32(audioClock)
	if video {
		st, clock = &md.video, videoClock
	}
	if !st.started || st.ssrc != p.SSRC || st.mime != mime {
		// A new stream replaces the old: keep what it counted.
		m.harvestStream(st, video)
		st.reset(p.SSRC, mime, video, clock)
	}
	before := st.seq.retransmitted
	ext, v := st.seq.push(p.SequenceNumber, at)
	resent := st.seq.retransmitted != before
	switch v {
	case seqProbation:
		st.hold(p, stamp, size, at)
		return
	case seqInvalid:
		m.w.invalid++
		md.invalid++
		st.hold(p, stamp, size, at) // it may start the stream, or its new numbering
		return
	case seqDuplicate:
		return
	case seqStarted:
		if h := st.held; h != nil && h.SequenceNumber == p.SequenceNumber-1 {
			m.accept(md, st, video, h, ext-1, st.heldStamp, st.heldSize, st.heldAt, false)
		}
		st.held = nil
	}
	m.accept(md, st, video, p, ext, stamp, size, at, resent)
}

// accept takes one valid media packet with its extended sequence number;
// resent says it is a retransmission, which, as in libwebrtc, does not enter
// the jitter (its delay is the NACK's round trip, not the network's
// variation); mu is held.
func (m *meter) accept(md *sessionMedia, st *stream, video bool, p *rtp.Packet, ext int64, stamp stampOf, size int, at time.Time, resent bool) {
	md.lastMedia, st.lastAt = at, at
	st.bytes += int64(size)
	st.active = true
	if !resent {
		st.jit.update(at, p.Timestamp)
	}
	if !video {
		st.conceal.packet(p.Payload)
		if md.audioOnly && md.firstFrameAt.IsZero() {
			md.firstFrameAt = at // no video negotiated: first audio stands in
			close(md.firstFrame)
		}
		return
	}
	m.w.hasVideo = true
	st.rendered = st.fb.insert(st.rendered[:0], ext, p, stamp.st, stamp.ok, at)
	for _, f := range st.rendered {
		m.onFrame(md, st, f)
	}
	if since, _, blocked := st.fb.blocked(); blocked {
		md.recovery.blocked(since)
	}
}

// videoArriving reports whether valid video packets of connection gen have
// arrived in the last second.
func (m *meter) videoArriving(gen uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	md := m.current(gen)
	return md != nil && md.video.started && m.now().Sub(md.video.lastAt) < time.Second
}

// invalid is how many packets of connection gen were rejected as invalid.
func (m *meter) invalid(gen uint64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if md := m.current(gen); md != nil {
		return md.invalid
	}
	return 0
}

// onNACK records a NACK connection gen sent for seqs of stream ssrc: any of
// them that arrives from now on is a retransmission.
func (m *meter) onNACK(gen uint64, ssrc uint32, seqs []uint16) {
	m.mu.Lock()
	defer m.unlock()
	md := m.current(gen)
	if md == nil {
		return
	}
	m.w.nacks++
	for _, st := range []*stream{&md.video, &md.audio} {
		if st.started && st.ssrc == ssrc {
			st.seq.nacked(seqs, m.now())
		}
	}
}

// onPLI records a PLI connection gen sent.
func (m *meter) onPLI(gen uint64, _ uint32) {
	m.mu.Lock()
	defer m.unlock()
	if m.current(gen) != nil {
		m.w.plis++
	}
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
