package media

import (
	"math/rand/v2"

	"github.com/bidwatch/bidwatch/internal/framestamp"
)

// SourceHall is the frame-stamp source id of the hall's own video.
const SourceHall = framestamp.SourceHall

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
