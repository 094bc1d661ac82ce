package media

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/framestamp"
	"github.com/bidwatch/bidwatch/internal/mediaclip"
)

const (
	// audioBytes is one 20 ms Opus frame: 80 bytes ≈ 32 kbit/s.
	audioBytes = 80
	// rtpMTU is the largest RTP payload the sender makes.
	rtpMTU = 1200
	// publisherFresh is how recently a WHIP publisher must have sent video
	// for it to replace the room's own video.
	publisherFresh = 500 * time.Millisecond
	// delayQueueLen bounds each track's delay line; a packet that finds it
	// full is dropped (and seen as loss).
	delayQueueLen = 4096
)

// room is one room's media: its shared tracks, the sender that paces them, its
// fault and its WHIP publishers.
type room struct {
	id, kind, codec string
	clip            *mediaclip.Clip
	api             *webrtc.API
	log             *slog.Logger
	fps             int

	video, audio       *outTrack
	videoOut, audioOut *mediaOut
	drops              *dropLog
	counters           roomCounters

	killICE      atomic.Bool
	refuse       atomic.Bool
	noRetransmit atomic.Bool
	lossBits     atomic.Uint64 // the loss fault's share, float64 bits
	viewers      atomic.Int32
	watched      chan struct{} // capacity 1: a viewer arrived, wake the idle sender
	lastFwd      atomic.Int64  // unix nanos of the current publisher's last video packet

	keyMu sync.Mutex
	keys  keyGate

	mu          sync.Mutex
	fault       Fault
	faultGen    uint64
	freezeUntil time.Time
	clearTimer  *time.Timer
	publishers  []*session // WHIP sessions, newest last; the newest is forwarded
}

// payloader packetizes one frame (pion's VP8 and H.264 payloaders).
type payloader interface {
	Payload(mtu uint16, payload []byte) [][]byte
}

func newPayloader(codec string) payloader {
	if codec == CodecH264 {
		return &codecs.H264Payloader{}
	}
	return &codecs.VP8Payloader{EnablePictureID: true}
}

// player is where the room's sender is in its clip.
type player struct {
	clip    *mediaclip.Clip
	pos     int  // the next frame
	low     bool // playing the low-bitrate rendition
	needKey bool // the viewers' decoders lost the thread (a publisher's video was on the track)
}

// next returns the frame to send at now: the next one of the clip, or the
// clip's next keyframe when the rendition changes, the viewers need one, or
// the key gate says a PLI is answered now. forced reports the jump.
func (pl *player) next(r *room, now time.Time, wantLow bool) (f mediaclip.Frame, forced bool) {
	natural := pl.clip.Frames[pl.pos].Key
	switch {
	case wantLow != pl.low || pl.needKey:
		pl.low, pl.needKey = wantLow, false
		r.takeKeyframe(now, true) // the keyframe sent now answers any PLI
		forced = !natural
	case r.takeKeyframe(now, natural):
		forced = true
	}
	if forced {
		pl.pos = pl.clip.NextKey(pl.pos)
	}
	c := pl.clip
	if pl.low {
		c = c.Low
	}
	f = c.Frames[pl.pos]
	pl.pos = (pl.pos + 1) % len(c.Frames)
	return f, forced
}

// run paces the room's media until ctx ends: audio every 20 ms, video every
// 1/fps, the frames of the room's clip in a loop. Each tick sends what is
// due by the clock since start, so a late wake-up (a loaded machine) sends
// the missed frames at once rather than losing them; more than maxBehind
// behind, the sender skips ahead. RTP timestamps are the frames' scheduled
// capture times, as from a camera (90 kHz, continuous across the clip's
// loops); the frame stamp carries the actual send time. Nothing is sent
// while nobody watches, and the clip does not advance.
func (r *room) run(ctx context.Context) {
	const maxBehind = 5
	audioPeriod := 20 * time.Millisecond
	videoPeriod := time.Second / time.Duration(r.fps)
	tick := time.NewTicker(min(audioPeriod, videoPeriod) / 2)
	defer tick.Stop()

	start := time.Now()
	rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), 7))
	videoTS0, audioTS0 := rng.Uint32(), rng.Uint32()
	var frameNo, audioNo uint32
	var videoSlot, audioSlot int64 // next scheduled slot of each
	pay := newPayloader(r.codec)
	pl := &player{clip: r.clip}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		elapsed := now.Sub(start)
		dueAudio := int64(elapsed/audioPeriod) + 1
		dueVideo := int64(elapsed/videoPeriod) + 1
		if r.viewers.Load() == 0 {
			// Idle: sleep until a viewer arrives rather than tick 100
			// times a second for nobody.
			tick.Stop()
			select {
			case <-ctx.Done():
				return
			case <-r.watched:
			}
			tick.Reset(min(audioPeriod, videoPeriod) / 2)
			elapsed = time.Since(start)
			dueAudio = int64(elapsed/audioPeriod) + 1
			dueVideo = int64(elapsed/videoPeriod) + 1
			audioSlot, videoSlot = dueAudio, dueVideo
			continue
		}
		audioSlot = max(audioSlot, dueAudio-maxBehind)
		videoSlot = max(videoSlot, dueVideo-maxBehind)
		fv := r.faultView(now)
		for ; audioSlot < dueAudio; audioSlot++ {
			audioNo++
			p := &rtp.Packet{
				Header:  rtp.Header{Version: 2, Marker: audioNo == 1, Timestamp: audioTS0 + uint32(audioSlot*48000/50)},
				Payload: appendOpusFrame(nil, audioBytes, audioNo),
			}
			r.audioOut.send(p, int64(SourceHall), nil, fv, now)
		}
		if now.UnixNano()-r.lastFwd.Load() < int64(publisherFresh) {
			videoSlot = dueVideo // a WHIP publisher's video is on the track
			pl.needKey = true
			continue
		}
		if fv.frozen {
			videoSlot = dueVideo // the clip waits: the next frame follows on
			continue
		}
		wantLow := fv.bitratePct > 0 && fv.bitratePct < 100
		for ; videoSlot < dueVideo; videoSlot++ {
			f, forced := pl.next(r, time.Now(), wantLow)
			if forced {
				r.counters.forced.Add(1)
			}
			r.counters.frames.Add(1)
			stamp := framestamp.Stamp{Source: SourceHall, Frame: frameNo, Sent: time.Now()}.Marshal()
			frameNo++
			ts := videoTS0 + uint32(videoSlot*90000/int64(r.fps))
			payloads := pay.Payload(rtpMTU, f.Data)
			for i, b := range payloads {
				p := &rtp.Packet{
					Header:  rtp.Header{Version: 2, Marker: i == len(payloads)-1, Timestamp: ts},
					Payload: b,
				}
				r.videoOut.send(p, int64(SourceHall), stamp, fv, now)
			}
		}
	}
}

// addPublisher makes sess the room's forwarded publisher.
func (r *room) addPublisher(sess *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publishers = append(r.publishers, sess)
}

// removePublisher forgets sess; the previous publisher, if any, is forwarded
// again, else the synthetic video resumes.
func (r *room) removePublisher(sess *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publishers = slices.DeleteFunc(r.publishers, func(s *session) bool { return s == sess })
	if len(r.publishers) == 0 {
		r.lastFwd.Store(0)
	}
}

func (r *room) isPublisher(sess *session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.publishers) > 0 && r.publishers[len(r.publishers)-1] == sess
}

// forwarder carries one WHIP publisher's video onto the room's video track.
type forwarder struct {
	r        *room
	sess     *session
	stampID  uint8 // the publisher's frame-stamp extension id, 0 if none
	inFrame  bool  // the previous packet did not end a frame
	dropping bool  // the current frame is dropped (freeze)
}

// forward passes one published packet through the room's faults onto the
// room's track. A freeze is applied at frame boundaries, so no frame is cut.
func (f *forwarder) forward(p *rtp.Packet) {
	if !f.r.isPublisher(f.sess) {
		f.inFrame = !p.Marker
		return
	}
	now := time.Now()
	f.r.lastFwd.Store(now.UnixNano())
	fv := f.r.faultView(now)
	if !f.inFrame {
		f.dropping = fv.frozen
	}
	f.inFrame = !p.Marker
	if f.dropping {
		return
	}
	var stamp []byte
	if f.stampID != 0 {
		if b := p.GetExtension(f.stampID); len(b) == framestamp.Len {
			stamp = b
		}
	}
	f.r.videoOut.send(p, f.sess.srcKey, stamp, fv, now)
}

// mediaOut is one track's way out: it numbers packets, keeps timestamps
// continuous when the source changes (the room's clip ↔ a WHIP publisher)
// and delays them, in order, for the delay fault. (The loss fault acts
// later, per viewer, in the room's interceptor.)
type mediaOut struct {
	track     *outTrack
	clockRate float64

	mu       sync.Mutex
	rng      *rand.Rand
	seq      uint16
	src      int64
	srcSet   bool
	tsOffset uint32
	lastTS   uint32
	lastAt   time.Time
	pending  int
	lastDue  time.Time
	q        chan delayedPkt
}

type delayedPkt struct {
	p     *rtp.Packet
	stamp []byte
	due   time.Time
}

func newMediaOut(track *outTrack, clockRate float64) *mediaOut {
	return &mediaOut{
		track:     track,
		clockRate: clockRate,
		rng:       rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		seq:       uint16(rand.Uint32()),
		q:         make(chan delayedPkt, delayQueueLen),
	}
}

// send numbers p and writes it to every viewer, now or after the fault's
// delay, with the frame stamp stamp (nil: none). src identifies the source
// whose timestamps p carries.
func (o *mediaOut) send(p *rtp.Packet, src int64, stamp []byte, fv faultView, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.srcSet || o.src != src {
		if o.srcSet {
			elapsed := uint32(now.Sub(o.lastAt).Seconds() * o.clockRate)
			o.tsOffset = o.lastTS + max(elapsed, 1) - p.Timestamp
		}
		o.src, o.srcSet = src, true
	}
	p.Timestamp += o.tsOffset
	if p.Timestamp != o.lastTS {
		o.lastTS, o.lastAt = p.Timestamp, now
	}
	p.SequenceNumber = o.seq
	o.seq++
	if fv.delay <= 0 && fv.jitter <= 0 && o.pending == 0 {
		o.track.write(p, stamp)
		return
	}
	due := now.Add(fv.delay)
	if fv.jitter > 0 {
		due = due.Add(time.Duration(o.rng.Int64N(int64(fv.jitter) + 1)))
	}
	if due.Before(o.lastDue) {
		due = o.lastDue // never reorder
	}
	select {
	case o.q <- delayedPkt{p: p, stamp: stamp, due: due}:
		o.lastDue = due
		o.pending++
	default: // delay line full: the packet is lost
	}
}

// runDelay writes delayed packets when they are due, until ctx ends.
func (o *mediaOut) runDelay(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var d delayedPkt
		select {
		case <-ctx.Done():
			return
		case d = <-o.q:
		}
		if wait := time.Until(d.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		o.track.write(d.p, d.stamp)
		o.mu.Lock()
		o.pending--
		o.mu.Unlock()
	}
}
