package rtc

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/framestamp"
)

// fuzzDepacketizer checks a depacketizer on any input: no panic, and a
// keyframe packet is a start packet where the codec says so.
func fuzzDepacketizer(f *testing.F, d depacketizer, keyStarts bool, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		info, err := d.parse(payload)
		if err != nil {
			if info != (packetInfo{}) {
				t.Fatalf("parse(% x) = %+v with error %v", payload, info, err)
			}
			return
		}
		if keyStarts && info.key && !info.start {
			t.Fatalf("parse(% x) = %+v: a keyframe packet that starts no frame", payload, info)
		}
	})
}

func FuzzVP8(f *testing.F) {
	fuzzDepacketizer(f, &vp8Depacketizer{}, true,
		[]byte{0x10, 0x00}, []byte{0x90, 0xf0, 0x81, 0x23, 0x07, 0x40, 0x01}, []byte{0x90, 0x80})
}

func FuzzH264(f *testing.F) {
	fuzzDepacketizer(f, h264Depacketizer{}, false,
		[]byte{0x65, 0x88}, []byte{0x78, 0, 2, 0x67, 0x42, 0, 1, 0x68, 0, 2, 0x65, 0x88}, []byte{0x7c, 0x85, 0x88})
}

func FuzzVP9(f *testing.F) {
	fuzzDepacketizer(f, vp9Depacketizer{}, true,
		[]byte{0xa8, 0x05, 0x00, 0x07, 0x82}, []byte{0xd8, 0x81, 0x02, 0x03, 0x04, 0x86},
		[]byte{0x8a, 0x01, 0x18, 0x01, 0x40, 0x00, 0xb4, 0x01, 0x04, 0x01, 0x82})
}

func FuzzAV1(f *testing.F) {
	fuzzDepacketizer(f, av1Depacketizer{}, true, []byte{0x18, 0x0a, 0x0b}, []byte{0x90, 0x32})
}

// FuzzFrameBuffer feeds a frame buffer random packet sequences (4 bytes a
// packet: sequence step, frame step, descriptor bits, milliseconds) and
// checks after every packet that the counts add up (rendered + dropped +
// held = received), that no limit is passed, that what renders renders now
// and in decode order, and that blocked() is consistent.
func FuzzFrameBuffer(f *testing.F) {
	f.Add(byte(0), []byte{1, 0, 0x13, 10, 1, 1, 0x11, 40, 2, 1, 0x11, 40, 1, 1, 0x11, 40})
	f.Add(byte(1), []byte{1, 0, 0x1b, 1, 1, 0, 0x08, 1, 1, 1, 0x1a, 40, 255, 1, 0x11, 200, 3, 1, 0x11, 40})
	f.Add(byte(2), []byte{1, 0, 0x03, 0, 0, 0, 0x03, 0, 5, 2, 0x01, 250, 1, 1, 0x11, 250})
	f.Fuzz(func(t *testing.T, codec byte, ops []byte) {
		if len(ops) > 4*1024 {
			ops = ops[:4*1024] // bounded work
		}
		var d depacketizer
		switch codec % 4 {
		case 0:
			d = newDepacketizer(webrtc.MimeTypeVP8)
		case 1:
			d = newDepacketizer(webrtc.MimeTypeH264)
		case 2:
			d = newDepacketizer(webrtc.MimeTypeVP9)
		}
		b := newFrameBuffer(d)
		ext, frame := int64(100), 0
		at := fbEpoch
		var dst []renderedFrame
		var lastRendered int64 = -1
		for i := 0; i+4 <= len(ops); i += 4 {
			step, fstep, bits, ms := ops[i], ops[i+1], ops[i+2], ops[i+3]
			ext += int64(int8(step)) // back and forth, duplicates
			if ext < 0 {
				ext = 0
			}
			frame += int(int8(fstep))
			at = at.Add(time.Duration(ms) * time.Millisecond)
			p := rtp.Packet{Header: rtp.Header{Version: 2, Marker: bits&0x01 != 0, Timestamp: uint32(frame) * 3600}}
			if bits&0x80 == 0 {
				p.Payload = fuzzPayload(codec%4, bits)
			}
			before := b.counts()
			dst = b.insert(dst[:0], ext, &p, framestamp.Stamp{}, false, at)
			c := b.counts()
			if c.rendered-before.rendered != len(dst) {
				t.Fatalf("op %d: %d frames returned, rendered count +%d", i/4, len(dst), c.rendered-before.rendered)
			}
			for _, r := range dst {
				if !r.at.Equal(at) {
					t.Fatalf("op %d: rendered at %v, now %v", i/4, r.at, at)
				}
			}
			held := fbHeld(b)
			if c.received != c.rendered+c.dropped+held || held > fbMaxHeld || len(b.frames) > fbMaxFrames ||
				c.keyRendered > c.rendered || held != b.heldN {
				t.Fatalf("op %d: counts %+v, %d held (%d counted), %d tracked", i/4, c, held, b.heldN, len(b.frames))
			}
			if b.lastEnd < lastRendered {
				t.Fatalf("op %d: decode position went back from %d to %d", i/4, lastRendered, b.lastEnd)
			}
			lastRendered = b.lastEnd
			for _, fr := range b.frames {
				if fr.lo <= b.lastEnd {
					t.Fatalf("op %d: frame at %d..%d kept behind the decode position %d", i/4, fr.lo, fr.hi, b.lastEnd)
				}
			}
			if since, _, ok := b.blocked(); ok && since.After(at) {
				t.Fatalf("op %d: blocked since %v, after now %v", i/4, since, at)
			}
		}
	})
}

// fuzzPayload is a payload whose descriptor bits come from bits: start
// (0x02), key (0x04), layer (0x18, VP8 only), sync (0x20), malformed (0x40).
func fuzzPayload(codec, bits byte) []byte {
	start, key, tid, sync := bits&0x02 != 0, bits&0x04 != 0, bits>>3&0x03, bits&0x20 != 0
	if bits&0x40 != 0 {
		return []byte{0xff}
	}
	switch codec {
	case 0: // VP8 with TL0PICIDX and TID
		b0, y, p := byte(0x80), byte(0), byte(1)
		if start {
			b0 |= 0x10
		}
		if sync {
			y = 1
		}
		if key {
			p = 0
		}
		return []byte{b0, 0x60, bits >> 3, tid<<6 | y<<5, p}
	case 1: // H.264: single slice, FU-A, or parameter sets
		switch {
		case sync:
			return []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}
		case start && key:
			return []byte{0x65, 0x88}
		case start:
			return []byte{0x41, 0x9a}
		case key:
			return []byte{0x7c, 0x05, 0x11}
		}
		return []byte{0x5c, 0x01, 0x11}
	case 2: // VP9
		b0 := byte(0x40)
		if key {
			b0 = 0
		}
		if start {
			b0 |= 0x08
		}
		return []byte{b0, 0x86}
	}
	return []byte{bits}
}
