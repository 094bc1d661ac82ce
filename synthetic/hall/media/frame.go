package media

import (
	"encoding/binary"
	"math/rand/v2"
	"time"
)

// The stamp every synthetic video frame carries right after its VP8 frame
// header (3 bytes for an interframe, 10 for a keyframe).
const (
	// StampMagic opens a frame stamp.
	StampMagic = "BWF1"
	// StampLen is the stamp's length: magic, source id (uint32), frame
	// counter (uint32), send time (int64 Unix nanoseconds), big-endian.
	StampLen = 20
	// SourceHall is the source id of the hall's own synthetic video.
	SourceHall uint32 = 0
)

// Stamp is what a synthetic frame says about itself.
type Stamp struct {
	Source uint32
	Frame  uint32
	Sent   time.Time
}

// ParseStamp reads the stamp of a VP8 frame (the depacketized payload, VP8
// payload descriptors removed). ok is false for a frame that carries none.
func ParseStamp(frame []byte) (st Stamp, ok bool) {
	if len(frame) < 3 {
		return st, false
	}
	off := 3
	if frame[0]&1 == 0 { // keyframe: start code and dimensions follow
		off = 10
	}
	b := frame[off:]
	if len(b) < StampLen || string(b[:4]) != StampMagic {
		return st, false
	}
	st.Source = binary.BigEndian.Uint32(b[4:])
	st.Frame = binary.BigEndian.Uint32(b[8:])
	st.Sent = time.Unix(0, int64(binary.BigEndian.Uint64(b[12:])))
	return st, true
}

// frameFiller is the pseudo-random body every synthetic frame's payload is cut
// from; media is encrypted on the wire, so its content only has to look like
// compressed video to a packet capture.
var frameFiller = func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

// appendVP8Frame appends a synthetic VP8 frame of about size bytes: a valid
// frame tag (and for a keyframe the start code and a 640×360 size), the
// stamp, then filler.
func appendVP8Frame(dst []byte, key bool, size int, st Stamp) []byte {
	hdr := 3
	if key {
		hdr = 10
	}
	if minSize := hdr + StampLen + 16; size < minSize {
		size = minSize
	}
	if size > len(frameFiller)/2 {
		size = len(frameFiller) / 2
	}
	// Frame tag (RFC 6386 §9.1): bit 0 frame type (0 = key), bits 1-3
	// version, bit 4 show_frame, bits 5-23 first partition size.
	part := uint32(size/4) & 0x7ffff
	tag := part<<5 | 1<<4
	if !key {
		tag |= 1
	}
	dst = append(dst, byte(tag), byte(tag>>8), byte(tag>>16))
	if key {
		dst = append(dst, 0x9d, 0x01, 0x2a, 640&0xff, 640>>8, 360&0xff, 360>>8)
	}
	dst = append(dst, StampMagic...)
	dst = binary.BigEndian.AppendUint32(dst, st.Source)
	dst = binary.BigEndian.AppendUint32(dst, st.Frame)
	dst = binary.BigEndian.AppendUint64(dst, uint64(st.Sent.UnixNano()))
	off := int(st.Frame*7919) % (len(frameFiller) - size)
	return append(dst, frameFiller[off:off+size-hdr-StampLen]...)
}

// appendOpusFrame appends a 20 ms Opus packet of size bytes: TOC byte config
// 31 (CELT fullband 20 ms), mono, one frame, then filler.
func appendOpusFrame(dst []byte, size int, n uint32) []byte {
	size = min(max(size, 2), 1500)
	dst = append(dst, 0xf8)
	off := int(n*131) % (len(frameFiller) - size)
	return append(dst, frameFiller[off:off+size-1]...)
}
