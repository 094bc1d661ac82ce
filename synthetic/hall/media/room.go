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
)

const (
	// audioBytes is one 20 ms Opus frame: 80 bytes ≈ 32 kbit/s.
	audioBytes = 80
	// audioKbps is what the audio track costs of the room's bitrate budget.
	audioKbps = 32
	// keyframeWeight is how many interframes a keyframe weighs.
	keyframeWeight = 8
	// rtpMTU is the largest RTP payload the sender makes.
	rtpMTU = 1200
	// publisherFresh is how recently a WHIP publisher must have sent video
	// for it to replace the room's synthetic video.
	publisherFresh = 500 * time.Millisecond
	// delayQueueLen bounds each track's delay line; a packet that finds it
	// full is dropped (and seen as loss).
	delayQueueLen = 4096
)

// room is one room's media: its shared tracks, the sender that paces them, its
// fault and its WHIP publishers.
type room struct {
	id, kind    string
	api         *webrtc.API
	log         *slog.Logger
	fps         int
	bitrateKbps int

	video, audio       *webrtc.TrackLocalStaticRTP
	videoOut, audioOut *mediaOut

	killICE atomic.Bool
	refuse  atomic.Bool
	viewers atomic.Int32
	watched chan struct{} // capacity 1: a viewer arrived, wake the idle sender
	lastFwd atomic.Int64  // unix nanos of the current publisher's last video packet

	mu          sync.Mutex
	fault       Fault
	faultGen    uint64
	freezeUntil time.Time
	clearTimer  *time.Timer
	publishers  []*session // WHIP sessions, newest last; the newest is forwarded
}

// run paces the room's synthetic media until ctx ends: audio every 20 ms,
// video every 1/fps. Each tick sends what is due by the clock since start,
// so a late wake-up (a loaded machine) sends the missed frames at once
// rather than losing them; more than maxBehind behind, the sender skips
// ahead. RTP timestamps are the frames' scheduled capture times, as from a
// camera; the stamp carries the actual send time. Nothing is generated
// while nobody watches.
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
	vp8 := &codecs.VP8Payloader{EnablePictureID: true}
	gop := uint32(2 * r.fps)
	var buf []byte
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
			capture := time.Duration(audioSlot) * audioPeriod
			audioNo++
			p := &rtp.Packet{
				Header:  rtp.Header{Version: 2, Marker: audioNo == 1, Timestamp: audioTS0 + uint32(capture.Seconds()*48000)},
				Payload: appendOpusFrame(nil, audioBytes, audioNo),
			}
			r.audioOut.send(p, int64(SourceHall), fv, now)
		}
		if now.UnixNano()-r.lastFwd.Load() < int64(publisherFresh) || fv.frozen {
			videoSlot = dueVideo // a WHIP publisher's video is on the track, or frozen
			continue
		}
		for ; videoSlot < dueVideo; videoSlot++ {
			capture := time.Duration(videoSlot) * videoPeriod
			key := frameNo%gop == 0
			size := r.frameSize(key, fv.bitratePct, rng)
			buf = appendVP8Frame(buf[:0], key, size, Stamp{Source: SourceHall, Frame: frameNo, Sent: time.Now()})
			frameNo++
			ts := videoTS0 + uint32(capture.Seconds()*90000)
			payloads := vp8.Payload(rtpMTU, buf)
			for i, pl := range payloads {
				p := &rtp.Packet{
					Header:  rtp.Header{Version: 2, Marker: i == len(payloads)-1, Timestamp: ts},
					Payload: pl,
				}
				r.videoOut.send(p, int64(SourceHall), fv, now)
			}
		}
	}
}

// frameSize is the size of the next video frame: the room's bitrate, less
// the audio's share, spread over a 2 s group of pictures in which the
// keyframe weighs keyframeWeight interframes; ±10 % noise.
func (r *room) frameSize(key bool, pct float64, rng *rand.Rand) int {
	kbps := float64(max(r.bitrateKbps-audioKbps, 50))
	if pct > 0 {
		kbps *= pct / 100
	}
	gop := float64(2 * r.fps)
	inter := kbps * 1000 / 8 * 2 / (gop - 1 + keyframeWeight)
	size := inter
	if key {
		size *= keyframeWeight
	}
	return int(size * (0.9 + 0.2*rng.Float64()))
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
	inFrame  bool // the previous packet did not end a frame
	dropping bool // the current frame is dropped (freeze)
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
	p.Extension, p.Extensions = false, nil
	f.r.videoOut.send(p, f.sess.srcKey, fv, now)
}

// mediaOut is one track's way out: it numbers packets, keeps timestamps
// continuous when the source changes (synthetic video ↔ a WHIP publisher),
// drops packets for the loss fault and delays them, in order, for the delay
// fault.
type mediaOut struct {
	track     *webrtc.TrackLocalStaticRTP
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
	p   *rtp.Packet
	due time.Time
}

func newMediaOut(track *webrtc.TrackLocalStaticRTP, clockRate float64) *mediaOut {
	return &mediaOut{
		track:     track,
		clockRate: clockRate,
		rng:       rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		seq:       uint16(rand.Uint32()),
		q:         make(chan delayedPkt, delayQueueLen),
	}
}

// send numbers p and writes it to every viewer, now or after the fault's
// delay. src identifies the source whose timestamps p carries.
func (o *mediaOut) send(p *rtp.Packet, src int64, fv faultView, now time.Time) {
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
	if fv.lossPct > 0 && o.rng.Float64()*100 < fv.lossPct {
		return
	}
	if fv.delay <= 0 && fv.jitter <= 0 && o.pending == 0 {
		_ = o.track.WriteRTP(p) // a viewer that went away is not the sender's error
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
	case o.q <- delayedPkt{p: p, due: due}:
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
		_ = o.track.WriteRTP(d.p)
		o.mu.Lock()
		o.pending--
		o.mu.Unlock()
	}
}
