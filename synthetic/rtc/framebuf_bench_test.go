package rtc

import (
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/framestamp"
	"github.com/bidwatch/bidwatch/internal/mediaclip"
)

// BenchmarkFrameBufferInsert: one op is one packet of a real clip (VP8,
// H.264; 2 s GOP) inserted in steady state, no loss, the clip looped with
// growing sequence numbers and timestamps. Target: 0 allocs/op.
func BenchmarkFrameBufferInsert(b *testing.B) {
	for _, codec := range fbCodecs {
		b.Run(string(codec), func(b *testing.B) {
			clip, err := mediaclip.Open(codec, 2*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			n := len(clip.Frames)
			mime, pkts, _ := fbClipStream(b, codec, 2*time.Second, n, 0)
			loopTS := uint32(n * 3600)
			fb := newFrameBuffer(newDepacketizer(mime))
			dst := make([]renderedFrame, 0, 8)
			st := framestamp.Stamp{Sent: fbEpoch}
			rendered := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				loop, k := i/len(pkts), i%len(pkts)
				p := pkts[k].pkt // the header is copied, the payload shared
				p.Timestamp += uint32(loop) * loopTS
				at := pkts[k].at.Add(time.Duration(loop) * clip.Duration())
				dst = fb.insert(dst[:0], int64(i), &p, st, true, at)
				rendered += len(dst)
			}
			b.StopTimer()
			if want := fb.counts().received; rendered != want || b.N >= len(pkts) && rendered == 0 {
				b.Fatalf("%d frames rendered of %d received", rendered, want)
			}
		})
	}
}
