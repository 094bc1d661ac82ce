package rtc

// opusConcealment turns an Opus stream's packet counts into webrtc-stats'
// audio concealment figures: totalSamplesReceived and concealedSamples. A
// browser's decoder conceals (fills in) the samples of every lost packet;
// how many samples a packet carries its TOC byte says (RFC 6716 §3.1), so
// the last packet received stands for the lost ones. The counts are at
// 48 kHz, the rate WebRTC's Opus always runs at on the wire.
type opusConcealment struct {
	perPacket int64 // samples per packet, from the latest valid TOC byte
}

// opusDefaultSamples is 20 ms at 48 kHz, the packet time a WebRTC sender
// uses unless told otherwise, assumed until a packet says.
const opusDefaultSamples = 960

// opusFrameSamples is each TOC configuration's frame duration in 48 kHz
// samples (RFC 6716 §3.1, Table 2): SILK NB/MB/WB 10, 20, 40, 60 ms; hybrid
// SWB/FB 10, 20 ms; CELT NB/WB/SWB/FB 2.5, 5, 10, 20 ms.
var opusFrameSamples = [32]int64{
	480, 960, 1920, 2880, // SILK NB
	480, 960, 1920, 2880, // SILK MB
	480, 960, 1920, 2880, // SILK WB
	480, 960, // hybrid SWB
	480, 960, // hybrid FB
	120, 240, 480, 960, // CELT NB
	120, 240, 480, 960, // CELT WB
	120, 240, 480, 960, // CELT SWB
	120, 240, 480, 960, // CELT FB
}

// opusPacketSamples is how many 48 kHz samples an Opus packet carries: its
// frames' duration times their number (code 0: one frame; 1 and 2: two;
// 3: the count in the second byte, RFC 6716 §3.2.5). ok is false for a
// packet the RFC calls malformed (empty, no count byte, no frames, or more
// than 120 ms).
func opusPacketSamples(payload []byte) (n int64, ok bool) {
	if len(payload) == 0 {
		return 0, false
	}
	toc := payload[0]
	frames := int64(1)
	switch toc & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(payload) < 2 {
			return 0, false
		}
		frames = int64(payload[1] & 0x3f)
	}
	n = opusFrameSamples[toc>>3] * frames
	if n == 0 || n > 5760 { // R5: at most 120 ms
		return 0, false
	}
	return n, true
}

// packet learns the stream's samples per packet from one received payload.
func (c *opusConcealment) packet(payload []byte) {
	if n, ok := opusPacketSamples(payload); ok {
		c.perPacket = n
	}
}

// add turns a window's counts into samples: total for the packets
// expected, concealed for those lost (negative, like lc.lost, when a late
// packet of the window before arrived).
func (c *opusConcealment) add(lc lossCounts) (concealed, total int64) {
	per := c.perPacket
	if per == 0 {
		per = opusDefaultSamples
	}
	return lc.lost * per, lc.expected * per
}
