package rtc

import "fmt"

// vp9Depacketizer reads the VP9 payload descriptor (RFC 9628 §4.2, the
// former draft-ietf-payload-vp9), in flexible and non-flexible mode, and
// checks its length; it allocates nothing (pion's VP9Packet keeps appending
// reference indices across calls, so it is not reused here).
//
//	 0 1 2 3 4 5 6 7
//	+-+-+-+-+-+-+-+-+
//	|I|P|L|F|B|E|V|Z| (REQUIRED)
//	+-+-+-+-+-+-+-+-+
//	|M| PICTURE ID  | (I: 7 bits, M: 15 bits)
//	|  T  |U|  S  |D| (L)
//	|   TL0PICIDX   | (L, non-flexible mode only)
//	| P_DIFF      |N| (F and P: up to 3 times)
//	|  SS           | (V)
type vp9Depacketizer struct{}

func (vp9Depacketizer) exactStart() bool { return true }

func (vp9Depacketizer) parse(payload []byte) (packetInfo, error) {
	if len(payload) < 1 {
		return packetInfo{}, fmt.Errorf("vp9: %w", errShortPayload)
	}
	b0 := payload[0]
	hasI, inter, hasL, flex := b0&0x80 != 0, b0&0x40 != 0, b0&0x20 != 0, b0&0x10 != 0
	begin, hasSS := b0&0x08 != 0, b0&0x02 != 0
	var info packetInfo
	off := 1
	short := func(what string) (packetInfo, error) {
		return packetInfo{}, fmt.Errorf("vp9: %w: %s", errShortPayload, what)
	}
	if hasI {
		if off >= len(payload) {
			return short("picture id")
		}
		info.hasPictureID = true
		info.pictureID = uint16(payload[off] & 0x7f)
		if payload[off]&0x80 != 0 {
			off++
			if off >= len(payload) {
				return short("15-bit picture id")
			}
			info.pictureID = info.pictureID<<8 | uint16(payload[off])
		}
		off++
	}
	var sid uint8
	if hasL {
		if off >= len(payload) {
			return short("layer indices")
		}
		sid = payload[off] >> 1 & 0x07
		off++
		if !flex {
			if off >= len(payload) {
				return short("TL0PICIDX")
			}
			info.hasTL0, info.tl0 = true, payload[off]
			off++
		}
	}
	if flex && inter {
		for i := 0; ; i++ {
			if i == 3 {
				return packetInfo{}, fmt.Errorf("vp9: %w: more than 3 reference indices", errBadPayload)
			}
			if off >= len(payload) {
				return short("reference index")
			}
			more := payload[off]&0x01 != 0
			off++
			if !more {
				break
			}
		}
	}
	if hasSS {
		var err error
		if off, err = skipVP9SS(payload, off); err != nil {
			return packetInfo{}, err
		}
	}
	if off >= len(payload) {
		return short("no payload after the descriptor")
	}
	// A picture starts with its lowest spatial layer's first packet; it is
	// a keyframe when that layer is not inter-picture predicted.
	info.start = begin && sid == 0
	info.key = info.start && !inter
	return info, nil
}

// skipVP9SS returns the offset after the scalability structure at off.
func skipVP9SS(payload []byte, off int) (int, error) {
	if off >= len(payload) {
		return 0, fmt.Errorf("vp9: %w: scalability structure", errShortPayload)
	}
	b := payload[off]
	layers := int(b>>5) + 1
	off++
	if b&0x10 != 0 { // Y: width and height of every spatial layer
		off += 4 * layers
	}
	if b&0x08 != 0 { // G: the picture group description
		if off >= len(payload) {
			return 0, fmt.Errorf("vp9: %w: picture group size", errShortPayload)
		}
		n := int(payload[off])
		off++
		for range n {
			if off >= len(payload) {
				return 0, fmt.Errorf("vp9: %w: picture group", errShortPayload)
			}
			off += 1 + int(payload[off]>>2&0x03)
		}
	}
	if off > len(payload) {
		return 0, fmt.Errorf("vp9: %w: scalability structure", errShortPayload)
	}
	return off, nil
}
