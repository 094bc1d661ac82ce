package rtc

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/mediaclip"
)

// fbPacket is one packet of a test stream: the packet, its extended
// sequence number, the clip frame it belongs to and when it arrives.
type fbPacket struct {
	pkt   rtp.Packet
	ext   int64
	frame int
	at    time.Time
}

// fbEpoch is the arrival time of a test stream's first packet.
var fbEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fbClipStream packetizes the first n frames of a real clip with pion's
// payloader at MTU 1200, as a sender would: 25 fps, 90 kHz timestamps, the
// marker on each frame's last packet, sequence numbers from firstSeq (the
// extended numbers continue past a wrap). Frame i's packets arrive at
// i·40 ms, 1 ms apart.
func fbClipStream(t testing.TB, codec mediaclip.Codec, keyInterval time.Duration, n int, firstSeq uint16) (mime string, pkts []fbPacket, clip *mediaclip.Clip) {
	t.Helper()
	clip, err := mediaclip.Open(codec, keyInterval)
	if err != nil {
		t.Fatal(err)
	}
	var pay interface {
		Payload(mtu uint16, payload []byte) [][]byte
	}
	switch codec {
	case mediaclip.VP8:
		mime, pay = webrtc.MimeTypeVP8, &codecs.VP8Payloader{EnablePictureID: true}
	case mediaclip.H264:
		mime, pay = webrtc.MimeTypeH264, &codecs.H264Payloader{}
	}
	ext := int64(firstSeq)
	for i := range n {
		fr := clip.Frames[i%len(clip.Frames)]
		payloads := pay.Payload(1200, fr.Data)
		if len(payloads) == 0 {
			t.Fatalf("frame %d: no packets", i)
		}
		for j, pl := range payloads {
			pkts = append(pkts, fbPacket{
				pkt: rtp.Packet{Header: rtp.Header{
					Version: 2, PayloadType: 96, SSRC: 1,
					SequenceNumber: uint16(ext), Timestamp: uint32(1000 + 3600*i),
					Marker: j == len(payloads)-1,
				}, Payload: pl},
				ext:   ext,
				frame: i,
				at:    fbEpoch.Add(time.Duration(i)*40*time.Millisecond + time.Duration(j)*time.Millisecond),
			})
			ext++
		}
	}
	return mime, pkts, clip
}
