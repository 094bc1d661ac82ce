package rtc

import "fmt"

// h264Depacketizer reads the H.264 RTP payload format (RFC 6184 §5.2): a
// single NAL unit (types 1–23), an aggregation packet (STAP-A 24, STAP-B 25)
// or a fragment (FU-A 28, FU-B 29). It reads NAL unit headers only.
type h264Depacketizer struct{}

// NAL unit and packet types (ITU-T H.264 table 7-1, RFC 6184 table 1).
const (
	h264Slice = 1
	h264IDR   = 5
	h264STAPA = 24
	h264STAPB = 25
	h264MTAP  = 26
	h264MTAP2 = 27
	h264FUA   = 28
	h264FUB   = 29
)

// h264Picture reports whether a NAL unit type is a coded slice (1–5).
func h264Picture(typ byte) bool { return typ >= h264Slice && typ <= h264IDR }

func (h264Depacketizer) parse(payload []byte) (packetInfo, error) {
	if len(payload) < 1 {
		return packetInfo{}, fmt.Errorf("h264: %w", errShortPayload)
	}
	if payload[0]&0x80 != 0 {
		return packetInfo{}, fmt.Errorf("h264: %w: forbidden_zero_bit set", errBadPayload)
	}
	typ := payload[0] & 0x1f
	switch {
	case typ >= 1 && typ <= 23:
		return packetInfo{start: true, key: typ == h264IDR, nonPicture: !h264Picture(typ)}, nil
	case typ == h264STAPA || typ == h264STAPB:
		return parseSTAP(payload, typ == h264STAPB)
	case typ == h264MTAP || typ == h264MTAP2:
		// Interleaved mode only, which WebRTC never negotiates: a NAL
		// unit start whose contents are not read.
		return packetInfo{start: true}, nil
	case typ == h264FUA || typ == h264FUB:
		hdr := 2
		if typ == h264FUB {
			hdr = 4 // and the DON
		}
		if len(payload) <= hdr {
			return packetInfo{}, fmt.Errorf("h264: fragment of %d bytes: %w", len(payload), errShortPayload)
		}
		fu := payload[1]
		if fu&0xc0 == 0xc0 {
			return packetInfo{}, fmt.Errorf("h264: %w: fragment with both start and end bits", errBadPayload)
		}
		inner := fu & 0x1f
		return packetInfo{start: fu&0x80 != 0, key: inner == h264IDR, nonPicture: !h264Picture(inner)}, nil
	}
	return packetInfo{}, fmt.Errorf("h264: %w: packet type %d", errBadPayload, typ)
}

// parseSTAP reads the NAL unit headers of an aggregation packet: 16-bit
// sizes, each followed by a NAL unit (STAP-B: after a 16-bit DON).
func parseSTAP(payload []byte, don bool) (packetInfo, error) {
	info := packetInfo{start: true, nonPicture: true}
	off := 1
	if don {
		off = 3
	}
	n := 0
	for off < len(payload) {
		if off+2 > len(payload) {
			return packetInfo{}, fmt.Errorf("h264: STAP: %w: %d bytes left for a NAL unit size", errShortPayload, len(payload)-off)
		}
		size := int(payload[off])<<8 | int(payload[off+1])
		off += 2
		if size == 0 || off+size > len(payload) {
			return packetInfo{}, fmt.Errorf("h264: STAP: %w: NAL unit of %d bytes, %d left", errShortPayload, size, len(payload)-off)
		}
		typ := payload[off] & 0x1f
		info.key = info.key || typ == h264IDR
		info.nonPicture = info.nonPicture && !h264Picture(typ)
		off += size
		n++
	}
	if n == 0 {
		return packetInfo{}, fmt.Errorf("h264: STAP: %w: no NAL unit", errShortPayload)
	}
	return info, nil
}
