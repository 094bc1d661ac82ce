package media

import (
	"encoding/binary"
	"math/rand/v2"
	"time"

	"github.com/bidwatch/bidwatch/internal/framestamp"
)

// SourceHall is the frame-stamp source id of the hall's own video.
const SourceHall = framestamp.SourceHall

// The payload stamp of the participant's synthetic published video: the hall
// sent it too before its video became a real clip, and forwards a WHIP
// publisher's payload untouched. The hall's own video carries its stamp in
// the frame-stamp header extension (package framestamp) instead.
const (
	// StampMagic opens a payload stamp.
	StampMagic = "BWF1"
	// StampLen is the stamp's length: magic, source id (uint32), frame
	// counter (uint32), send time (int64 Unix nanoseconds), big-endian.
	StampLen = 20
)

// Stamp is what a stamped synthetic frame says about itself.
type Stamp struct {
	Source uint32
	Frame  uint32
	Sent   time.Time
}

// ParseStamp reads the payload stamp of a synthetic VP8 frame (the
// depacketized payload: right after the 3-byte frame tag, or the 10-byte
// keyframe header). ok is false for a frame that carries none — every frame
// of the hall's own video, which is real VP8 or H.264.
//
// Deprecated: the hall's video carries its stamp in the frame-stamp RTP
// header extension; see framestamp.FromHeader. This reads only what a WHIP
// publisher put in its payload.
func ParseStamp(frame []byte) (st Stamp, ok bool) {
	if len(frame) < 3 {
		return st, false
	}
	off := 3
	if frame[0]&1 == 0 { // keyframe: start code and dimensions follow
		off = 10
	}
	if len(frame) < off {
		return st, false
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

// opusFiller is the pseudo-random body the synthetic Opus packets are cut
// from; media is encrypted on the wire, so it only has to look like
// compressed audio to a packet capture.
var opusFiller = func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 16<<10)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

// appendOpusFrame appends a 20 ms Opus packet of size bytes: TOC byte config
// 31 (CELT fullband 20 ms), mono, one frame, then filler. It is not real
// Opus: a decoder conceals it.
func appendOpusFrame(dst []byte, size int, n uint32) []byte {
	size = min(max(size, 2), 1500)
	dst = append(dst, 0xf8)
	off := int(n*131) % (len(opusFiller) - size)
	return append(dst, opusFiller[off:off+size-1]...)
}
