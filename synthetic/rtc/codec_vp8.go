package rtc

import (
	"fmt"

	"github.com/pion/rtp/codecs"
)

// vp8Depacketizer reads the VP8 payload descriptor (RFC 7741 §4.2) with
// pion's parser, which allocates nothing, and the P bit of the VP8 payload
// header (RFC 7741 §4.3, RFC 6386 §9.1) of a frame's first packet.
type vp8Depacketizer struct {
	pkt codecs.VP8Packet
}

func (*vp8Depacketizer) exactStart() bool { return true }

func (d *vp8Depacketizer) parse(payload []byte) (packetInfo, error) {
	if len(payload) == 0 {
		return packetInfo{}, fmt.Errorf("vp8: %w", errShortPayload)
	}
	body, err := d.pkt.Unmarshal(payload)
	if err != nil {
		return packetInfo{}, fmt.Errorf("vp8: %w: %w", errShortPayload, err)
	}
	if len(body) == 0 {
		return packetInfo{}, fmt.Errorf("vp8: %w: no payload after the descriptor", errShortPayload)
	}
	p := &d.pkt
	info := packetInfo{
		start:        p.S == 1 && p.PID == 0,
		layered:      p.T == 1,
		tid:          p.TID,
		sync:         p.T == 1 && p.Y == 1,
		hasTL0:       p.L == 1,
		tl0:          p.TL0PICIDX,
		hasPictureID: p.I == 1,
		pictureID:    p.PictureID,
	}
	// The payload header's P bit (inverse key frame flag) is in the first
	// byte of the frame, which only the frame's first packet holds.
	info.key = info.start && body[0]&0x01 == 0
	return info, nil
}
