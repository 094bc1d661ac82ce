package rtc

import "fmt"

// av1Depacketizer reads the aggregation header of the AV1 RTP payload
// format (AV1 RTP specification §4.4): Z (the first OBU element continues a
// fragment), Y (the last continues in the next packet), W (the number of OBU
// elements) and N (the first packet of a coded video sequence). pion's
// AV1Packet splits every packet into OBU elements, which allocates, so it is
// not used.
//
//	 0 1 2 3 4 5 6 7
//	+-+-+-+-+-+-+-+-+
//	|Z|Y| W |N|-|-|-|
//	+-+-+-+-+-+-+-+-+
type av1Depacketizer struct{}

func (av1Depacketizer) parse(payload []byte) (packetInfo, error) {
	if len(payload) < 2 {
		return packetInfo{}, fmt.Errorf("av1: %w: %d bytes", errShortPayload, len(payload))
	}
	z, n := payload[0]&0x80 != 0, payload[0]&0x08 != 0
	if z && n {
		return packetInfo{}, fmt.Errorf("av1: %w: a new coded video sequence cannot start with a fragment", errBadPayload)
	}
	// A packet that does not continue a fragment begins an OBU, not
	// necessarily a frame: a temporal unit may span packets that each
	// begin with a whole OBU. N marks a keyframe's first packet exactly.
	return packetInfo{start: !z, key: n}, nil
}
