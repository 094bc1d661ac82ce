package rtc

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/framestamp"
	"github.com/bidwatch/bidwatch/internal/mediaclip"
)

// fbResult is what a frame buffer made of a packet list.
type fbResult struct {
	rendered []renderedFrame
	counts   frameCounts
	maxHeld  int
}

// frames lists the clip frame of each rendered frame.
func (r fbResult) frames() []int {
	out := make([]int, len(r.rendered))
	for i, f := range r.rendered {
		out[i] = fbFrameOf(f.ts)
	}
	return out
}

// renderedAt returns when clip frame i rendered, if it did.
func (r fbResult) renderedAt(i int) (time.Time, bool) {
	for _, f := range r.rendered {
		if fbFrameOf(f.ts) == i {
			return f.at, true
		}
	}
	return time.Time{}, false
}

func fbFrameOf(ts uint32) int { return int(ts-1000) / 3600 }

// fbFeed inserts pkts in order, checking after each that the counts add up
// (received = rendered + dropped + held), that what insert returned is what
// the counts say was rendered, at the packet's arrival, and that no limit is
// passed; after(i) runs after packet i.
func fbFeed(t *testing.T, b *frameBuffer, pkts []fbPacket, after func(i int)) fbResult {
	t.Helper()
	var r fbResult
	var dst []renderedFrame
	for i := range pkts {
		p := &pkts[i]
		before := b.counts()
		dst = b.insert(dst[:0], p.ext, &p.pkt, framestamp.Stamp{Frame: uint32(p.frame)}, true, p.at)
		c := b.counts()
		if got := c.rendered - before.rendered; got != len(dst) {
			t.Fatalf("packet %d: insert returned %d frames, rendered count grew by %d", i, len(dst), got)
		}
		for _, f := range dst {
			if !f.at.Equal(p.at) || !f.hasStamp || int(f.stamp.Frame) != fbFrameOf(f.ts) {
				t.Fatalf("packet %d: rendered %+v at %v, stamp of frame %d", i, f, p.at, fbFrameOf(f.ts))
			}
		}
		held := fbHeld(b)
		if c.received != c.rendered+c.dropped+held {
			t.Fatalf("packet %d: counts %+v, %d held: do not add up", i, c, held)
		}
		if held > fbMaxHeld || len(b.frames) > fbMaxFrames {
			t.Fatalf("packet %d: %d frames held, %d tracked", i, held, len(b.frames))
		}
		r.maxHeld = max(r.maxHeld, held)
		r.rendered = append(r.rendered, dst...)
		if after != nil {
			after(i)
		}
	}
	r.counts = b.counts()
	return r
}

// fbHeld counts the frames a buffer holds: complete, not rendered, not dropped.
func fbHeld(b *frameBuffer) int {
	n := 0
	for _, f := range b.frames {
		if f.complete && f.picture {
			n++
		}
	}
	return n
}

// fbWithout returns pkts without those of frame i.
func fbWithout(pkts []fbPacket, frame int) []fbPacket {
	return slices.DeleteFunc(slices.Clone(pkts), func(p fbPacket) bool { return p.frame == frame })
}

// fbByArrival sorts pkts by arrival time, keeping the order of equal times.
func fbByArrival(pkts []fbPacket) []fbPacket {
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].at.Before(pkts[j].at) })
	return pkts
}

// fbExpectedTimes is when each frame of a lossless stream renders, whatever
// the order its packets arrive in: a keyframe when its last packet arrives, a
// delta frame then too, but not before the frame before it.
func fbExpectedTimes(pkts []fbPacket, clip *mediaclip.Clip, n int) []time.Time {
	complete := make([]time.Time, n)
	seen := map[int64]bool{}
	for _, p := range pkts {
		if !seen[p.ext] && p.at.After(complete[p.frame]) {
			complete[p.frame] = p.at
		}
		seen[p.ext] = true
	}
	want := make([]time.Time, n)
	for i := range n {
		want[i] = complete[i]
		if i > 0 && !clip.Frames[i%len(clip.Frames)].Key && want[i-1].After(want[i]) {
			want[i] = want[i-1]
		}
	}
	return want
}

var fbCodecs = []mediaclip.Codec{mediaclip.VP8, mediaclip.H264}

// TestFrameBufferNoLoss: every frame renders when its last packet arrives,
// also with sequence numbers wrapping past 65535, with every packet arriving
// twice, and with packets reordered within and across frames.
func TestFrameBufferNoLoss(t *testing.T) {
	const n = 100 // two GOPs
	type variant struct {
		name     string
		firstSeq uint16
		perturb  func([]fbPacket) []fbPacket
	}
	variants := []variant{
		{"in order", 1000, nil},
		{"sequence wrap", 65500, nil},
		{"duplicates", 1000, func(pkts []fbPacket) []fbPacket {
			var out []fbPacket
			for i, p := range pkts {
				out = append(out, p, p) // at once
				if i >= 5 {
					late := pkts[i-5] // and again, 5 packets later
					late.at = p.at
					out = append(out, late)
				}
			}
			return out
		}},
		{"reordered within frames", 1000, func(pkts []fbPacket) []fbPacket {
			// The packets of every frame of several arrive last first.
			// (Not H.264 keyframes: as libwebrtc does, the buffer takes
			// an IDR slice's first packet as the start of a keyframe
			// when the packet before it is missing, so a keyframe whose
			// SPS/PPS packet comes last renders without it.)
			for lo := 0; lo < len(pkts); {
				hi := lo
				for hi < len(pkts) && pkts[hi].frame == pkts[lo].frame {
					hi++
				}
				h264Key := pkts[lo].pkt.Payload[0]&0x1f == h264STAPA
				if hi-lo > 1 && !h264Key {
					for i, j := lo, hi-1; i < j; i, j = i+1, j-1 {
						pkts[i].at, pkts[j].at = pkts[j].at, pkts[i].at
					}
				}
				lo = hi
			}
			return fbByArrival(pkts)
		}},
		{"reordered across frames", 1000, func(pkts []fbPacket) []fbPacket {
			// Frames 5, 20 and 60 arrive 50 ms late, after the next one.
			for i := range pkts {
				if f := pkts[i].frame; f == 5 || f == 20 || f == 60 {
					pkts[i].at = pkts[i].at.Add(50 * time.Millisecond)
				}
			}
			return fbByArrival(pkts)
		}},
	}
	for _, codec := range fbCodecs {
		for _, v := range variants {
			t.Run(string(codec)+"/"+v.name, func(t *testing.T) {
				mime, pkts, clip := fbClipStream(t, codec, 2*time.Second, n, v.firstSeq)
				if v.perturb != nil {
					pkts = v.perturb(pkts)
				}
				want := fbExpectedTimes(pkts, clip, n)
				b := newFrameBuffer(newDepacketizer(mime))
				r := fbFeed(t, b, pkts, nil)
				if wantCounts := (frameCounts{received: n, rendered: n, keyRendered: 2}); r.counts != wantCounts {
					t.Fatalf("counts %+v, want %+v", r.counts, wantCounts)
				}
				for i, f := range r.rendered {
					if fbFrameOf(f.ts) != i || !f.at.Equal(want[i]) || f.key != clip.Frames[i].Key {
						t.Fatalf("rendered frame %d: frame %d at %v (key %v), want frame %d at %v",
							i, fbFrameOf(f.ts), f.at.Sub(fbEpoch), f.key, i, want[i].Sub(fbEpoch))
					}
				}
				if _, _, ok := b.blocked(); ok {
					t.Error("blocked after a lossless stream")
				}
			})
		}
	}
}

// TestFrameBufferLostForGood: the packet of delta frame 10 never arrives.
// Frame 10 is never complete; every frame after it waits until the next
// keyframe (frame 50), which renders and drops them; rendering is blocked
// from the first packet after the gap until then, without needing a
// keyframe (a retransmission could still fill the gap).
func TestFrameBufferLostForGood(t *testing.T) {
	const n, lost, key = 100, 10, 50
	for _, codec := range fbCodecs {
		t.Run(string(codec), func(t *testing.T) {
			mime, pkts, _ := fbClipStream(t, codec, 2*time.Second, n, 1000)
			pkts = fbWithout(pkts, lost)
			b := newFrameBuffer(newDepacketizer(mime))
			var firstAfter time.Time
			r := fbFeed(t, b, pkts, func(i int) {
				p := pkts[i]
				since, needKey, ok := b.blocked()
				if p.frame == 0 {
					return // no keyframe yet
				}
				if p.frame > lost && firstAfter.IsZero() {
					firstAfter = p.at
				}
				wantBlocked := p.frame > lost && (p.frame < key || p.frame == key && !p.pkt.Marker)
				if ok != wantBlocked || ok && (!since.Equal(firstAfter) || needKey) {
					t.Fatalf("after frame %d: blocked() = %v, %v, %v; want %v since %v, no key needed",
						p.frame, since.Sub(fbEpoch), needKey, ok, wantBlocked, firstAfter.Sub(fbEpoch))
				}
			})
			// VP8 marks a frame's first packet, so frame 11 is complete. An
			// H.264 frame's start is known from the end of the frame before
			// it (lost here) or from an IDR: frame 11 is never complete.
			received := n - 1
			if codec == mediaclip.H264 {
				received--
			}
			rendered := lost + (n - key)
			want := frameCounts{received: received, rendered: rendered, dropped: received - rendered, keyRendered: 2}
			if r.counts != want {
				t.Fatalf("counts %+v, want %+v", r.counts, want)
			}
			got := r.frames()
			for i, f := range got {
				if want := i + (key-lost)*btoi(i >= lost); f != want {
					t.Fatalf("rendered %v, want 0..%d and %d..%d", got, lost-1, key, n-1)
				}
			}
			// The picture freezes from frame 9 until keyframe 50's last packet.
			for _, f := range []int{lost - 1, key} {
				if at, ok := r.renderedAt(f); !ok || !at.Equal(fbLastArrival(pkts, f)) {
					t.Errorf("frame %d rendered at %v, want %v", f, at.Sub(fbEpoch), fbLastArrival(pkts, f).Sub(fbEpoch))
				}
			}
		})
	}
}

// fbLastArrival is when the last packet of frame i arrives.
func fbLastArrival(pkts []fbPacket, frame int) time.Time {
	var at time.Time
	for _, p := range pkts {
		if p.frame == frame && p.at.After(at) {
			at = p.at
		}
	}
	return at
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestFrameBufferRetransmitted: the packet of delta frame 10 comes back as
// a retransmission some time after the first packet beyond it: the frames
// held meanwhile all render at that moment, and none is dropped.
func TestFrameBufferRetransmitted(t *testing.T) {
	const n, lost = 100, 10
	for _, codec := range fbCodecs {
		for _, delay := range []time.Duration{30 * time.Millisecond, 130 * time.Millisecond} {
			t.Run(string(codec)+"/"+delay.String(), func(t *testing.T) {
				mime, pkts, _ := fbClipStream(t, codec, 2*time.Second, n, 1000)
				resent := fbLastArrival(pkts, lost+1).Add(delay)
				for i := range pkts {
					if pkts[i].frame == lost {
						pkts[i].at = resent
					}
				}
				pkts = fbByArrival(pkts)
				b := newFrameBuffer(newDepacketizer(mime))
				r := fbFeed(t, b, pkts, nil)
				if want := (frameCounts{received: n, rendered: n, keyRendered: 2}); r.counts != want {
					t.Fatalf("counts %+v, want %+v", r.counts, want)
				}
				for i := range n {
					at, _ := r.renderedAt(i)
					want := fbLastArrival(pkts, i)
					if i >= lost && want.Before(resent) {
						want = resent
					}
					if !at.Equal(want) {
						t.Fatalf("frame %d rendered at %v, want %v", i, at.Sub(fbEpoch), want.Sub(fbEpoch))
					}
				}
				// Frames 11… are held; an H.264 frame 11 is complete only
				// once frame 10's end tells where it starts.
				if held := int(delay/(40*time.Millisecond)) + 1 - btoi(codec == mediaclip.H264); r.maxHeld != held {
					t.Errorf("%d frames held at most, want %d", r.maxHeld, held)
				}
			})
		}
	}
}

// TestFrameBufferJoinMidGOP: a stream joined at frame 20 of a 50-frame GOP
// renders nothing until keyframe 50; blocked() says a keyframe is needed
// from the first packet.
func TestFrameBufferJoinMidGOP(t *testing.T) {
	const n, join, key = 100, 20, 50
	for _, codec := range fbCodecs {
		t.Run(string(codec), func(t *testing.T) {
			mime, pkts, _ := fbClipStream(t, codec, 2*time.Second, n, 1000)
			pkts = slices.DeleteFunc(pkts, func(p fbPacket) bool { return p.frame < join })
			b := newFrameBuffer(newDepacketizer(mime))
			first := pkts[0].at
			r := fbFeed(t, b, pkts, func(i int) {
				since, needKey, ok := b.blocked()
				if waiting := pkts[i].frame < key || pkts[i].frame == key && !pkts[i].pkt.Marker; ok != waiting ||
					ok && (!needKey || !since.Equal(first)) {
					t.Fatalf("packet %d (frame %d): blocked() = %v, %v, %v; want %v since the first packet, key needed",
						i, pkts[i].frame, since.Sub(fbEpoch), needKey, ok, waiting)
				}
			})
			// Frame 20's first packet is the first seen: VP8 marks it, an
			// H.264 delta frame's start is unknown without the frame before.
			received := n - join
			if codec == mediaclip.H264 {
				received--
			}
			want := frameCounts{received: received, rendered: n - key, dropped: received - (n - key), keyRendered: 1}
			if r.counts != want {
				t.Fatalf("counts %+v, want %+v", r.counts, want)
			}
			if got := r.frames(); got[0] != key || len(got) != n-key {
				t.Fatalf("rendered %v, want %d..%d", got, key, n-1)
			}
		})
	}
}

// TestFrameBufferHoldLimits: with a keyframe every 10 s and packets of
// frames 10 and 250 (a keyframe) lost, the frames waiting for them are held
// at most 3 s (at 25 fps), or at most 300 of them (at 200 fps); the oldest are
// dropped then, and from then only a keyframe helps. Keyframe 500 renders.
func TestFrameBufferHoldLimits(t *testing.T) {
	const n, lost, lostKey, key = 510, 10, 250, 500
	for _, codec := range fbCodecs {
		for _, fps := range []int{25, 200} {
			t.Run(fmt.Sprintf("%s/%dfps", codec, fps), func(t *testing.T) {
				mime, pkts, _ := fbClipStream(t, codec, 10*time.Second, n, 1000)
				for i := range pkts { // respace the frames
					pkts[i].at = fbEpoch.Add(time.Duration(pkts[i].frame) * time.Second / time.Duration(fps)).
						Add(pkts[i].at.Sub(fbEpoch) % (40 * time.Millisecond))
				}
				pkts = fbWithout(fbWithout(pkts, lost), lostKey)
				b := newFrameBuffer(newDepacketizer(mime))
				gapAt := fbLastArrival(pkts, lost+1)
				r := fbFeed(t, b, pkts, func(i int) {
					p := pkts[i]
					_, needKey, ok := b.blocked()
					if p.frame <= lost || p.frame >= key {
						return
					}
					// A keyframe is needed once a frame after the gap was
					// dropped (300 held) or waited 3 s, not before.
					dropped := b.counts().dropped > 0
					waited := p.at.Sub(gapAt)
					late := waited > fbHoldFor+time.Second/time.Duration(fps)
					early := waited <= fbHoldFor && !dropped
					if !ok || early && needKey || (late || dropped) && !needKey {
						t.Fatalf("frame %d at %v: blocked %v, needKey %v, dropped %v",
							p.frame, p.at.Sub(fbEpoch), ok, needKey, dropped)
					}
				})
				wantMax := min(fbMaxHeld, int(fbHoldFor*time.Duration(fps)/time.Second))
				if r.maxHeld < wantMax-1 || r.maxHeld > wantMax+1 {
					t.Errorf("%d frames held at most, want %d", r.maxHeld, wantMax)
				}
				if got := r.frames(); len(got) != lost+n-key || got[lost] != key {
					t.Errorf("rendered %v, want 0..%d and %d..%d", got, lost-1, key, n-1)
				}
				if c := r.counts; c.rendered+c.dropped != c.received || c.dropped < key-lost-4 {
					t.Errorf("counts %+v", c)
				}
			})
		}
	}
}

// vp8Layered is a VP8 packet of a temporally layered stream: one packet per
// frame, descriptor with a 15-bit picture id, TL0PICIDX, TID and Y.
func vp8Layered(frame int, key bool, tid uint8, sync bool, tl0 uint8) rtp.Packet {
	y := byte(0)
	if sync {
		y = 1
	}
	p := byte(1)
	if key {
		p = 0
	}
	return rtp.Packet{
		Header:  rtp.Header{Version: 2, Marker: true, Timestamp: uint32(1000 + 3600*frame)},
		Payload: []byte{0x90, 0xe0, 0x80 | byte(frame>>8), byte(frame), tl0, tid<<6 | y<<5, p, 0x9d},
	}
}

// TestFrameBufferVP8TemporalLayers: in a two-layer stream (TL0, TL1, TL0,
// TL1, …) a lost TL1 frame stops no TL0 frame, nor the next TL1 frame (it
// depends on its TL0 frame); a lost TL0 frame stops everything until the
// next keyframe, except a TL1 frame with Y after the next TL0 frame.
func TestFrameBufferVP8TemporalLayers(t *testing.T) {
	const n = 20
	tests := []struct {
		name string
		lost int
		sync int // this TL1 frame has Y
		want []int
	}{
		{"TL1 lost", 5, -1, []int{0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}},
		{"TL0 lost", 6, -1, []int{0, 1, 2, 3, 4, 5, 16, 17, 18, 19}},
		{"TL0 lost, sync TL1 later", 6, 9, []int{0, 1, 2, 3, 4, 5, 16, 17, 18, 19}},
		{"TL1 lost, sync TL1 next", 5, 7, []int{0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pkts []fbPacket
			tl0 := uint8(200) // wraps past 255
			for i := range n {
				tid := uint8(i % 2)
				key := i == 0 || i == 16
				if tid == 0 && i > 0 {
					tl0++
				}
				p := fbPacket{pkt: vp8Layered(i, key, tid, i == tc.sync, tl0), ext: int64(i), frame: i,
					at: fbEpoch.Add(time.Duration(i) * 40 * time.Millisecond)}
				p.pkt.SequenceNumber = uint16(i)
				if i != tc.lost {
					pkts = append(pkts, p)
				}
			}
			b := newFrameBuffer(newDepacketizer(webrtc.MimeTypeVP8))
			r := fbFeed(t, b, pkts, nil)
			if got := r.frames(); !slices.Equal(got, tc.want) {
				t.Fatalf("rendered %v, want %v", got, tc.want)
			}
			for _, f := range r.rendered {
				if want := fbLastArrival(pkts, fbFrameOf(f.ts)); !f.at.Equal(want) {
					t.Errorf("frame %d rendered at %v, want on arrival %v", fbFrameOf(f.ts), f.at, want)
				}
			}
			if r.counts.rendered+r.counts.dropped != n-1 || r.counts.received != n-1 {
				t.Errorf("counts %+v", r.counts)
			}
		})
	}
}

// TestFrameBufferUnknownCodec: without a depacketizer, frames are delimited
// by timestamp and marker; every complete frame that follows on from the one
// before it renders.
func TestFrameBufferUnknownCodec(t *testing.T) {
	_, pkts, _ := fbClipStream(t, mediaclip.VP8, 2*time.Second, 30, 1000)
	pkts = fbWithout(pkts, 10)
	b := newFrameBuffer(nil)
	r := fbFeed(t, b, pkts, nil)
	// Frame 0's start is unknown (nothing before it), frame 10 is lost and
	// frame 11's start unknown: 27 frames.
	want := frameCounts{received: 27, rendered: 27}
	if r.counts != want {
		t.Fatalf("counts %+v, want %+v (rendered %v)", r.counts, want, r.frames())
	}
}

// TestFrameBufferH264ParameterSetsAlone: a "frame" of SPS and PPS only, with
// its own timestamp and marker, is no picture: it is neither counted nor
// rendered, and the frame after it still follows on.
func TestFrameBufferH264ParameterSetsAlone(t *testing.T) {
	mk := func(seq int64, ts uint32, payload ...byte) fbPacket {
		return fbPacket{pkt: rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: uint16(seq),
			Timestamp: 1000 + 3600*ts}, Payload: payload}, ext: seq, frame: int(ts), at: fbEpoch.Add(time.Duration(seq) * time.Millisecond)}
	}
	pkts := []fbPacket{
		mk(1, 0, 0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce, 0, 2, 0x65, 0x88), // SPS, PPS, IDR
		mk(2, 1, 0x41, 0x9a),
		mk(3, 2, 0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce), // SPS, PPS alone
		mk(4, 3, 0x41, 0x9a),
		mk(5, 4), // padding
		mk(6, 5, 0x41, 0x9a),
	}
	b := newFrameBuffer(newDepacketizer(webrtc.MimeTypeH264))
	r := fbFeed(t, b, pkts, nil)
	if got, want := r.frames(), []int{0, 1, 3, 5}; !slices.Equal(got, want) {
		t.Fatalf("rendered %v, want %v", got, want)
	}
	if want := (frameCounts{received: 4, rendered: 4, keyRendered: 1}); r.counts != want {
		t.Fatalf("counts %+v, want %+v", r.counts, want)
	}
}
