package media

import (
	"fmt"
	"strings"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/framestamp"
)

// outTrack is a room's shared video or audio track. Unlike pion's
// TrackLocalStaticRTP it writes each viewer's frame stamp under the
// extension id that viewer negotiated, and leaves it out for a viewer (a
// browser, aiortc) that did not: extension ids are per PeerConnection, so
// one header cannot serve every viewer. Sequence numbers and timestamps are
// the same for every viewer; only the SSRC and payload type differ.
type outTrack struct {
	codec        webrtc.RTPCodecCapability
	id, streamID string

	mu       sync.RWMutex
	bindings []outBinding
}

type outBinding struct {
	id     string
	ssrc   webrtc.SSRC
	pt     webrtc.PayloadType
	stamp  uint8 // the frame stamp's extension id, 0 when not negotiated
	writer webrtc.TrackLocalWriter
}

func newOutTrack(c webrtc.RTPCodecCapability, id, streamID string) *outTrack {
	return &outTrack{codec: c, id: id, streamID: streamID}
}

// Bind picks the negotiated codec that is the track's and the frame stamp's
// negotiated id.
func (t *outTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	c, ok := matchCodec(t.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, fmt.Errorf("%w: %s", webrtc.ErrUnsupportedCodec, t.codec.MimeType)
	}
	b := outBinding{id: ctx.ID(), ssrc: ctx.SSRC(), pt: c.PayloadType, writer: ctx.WriteStream()}
	if t.Kind() == webrtc.RTPCodecTypeVideo {
		b.stamp = stampID(ctx.HeaderExtensions())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bindings = append(t.bindings, b)
	return c, nil
}

// Unbind forgets a viewer's binding.
func (t *outTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, b := range t.bindings {
		if b.id == ctx.ID() {
			t.bindings = append(t.bindings[:i], t.bindings[i+1:]...)
			return nil
		}
	}
	return webrtc.ErrUnbindFailed
}

func (t *outTrack) ID() string       { return t.id }
func (t *outTrack) RID() string      { return "" }
func (t *outTrack) StreamID() string { return t.streamID }

func (t *outTrack) Kind() webrtc.RTPCodecType {
	if strings.HasPrefix(t.codec.MimeType, "audio/") {
		return webrtc.RTPCodecTypeAudio
	}
	return webrtc.RTPCodecTypeVideo
}

// write sends p to every viewer with the viewer's SSRC and payload type and,
// when stamp is not nil and the viewer negotiated it, the frame stamp. Any
// extension p carries is dropped. A viewer that went away is not the
// sender's error: its write error is ignored, like pion's own track's.
func (t *outTrack) write(p *rtp.Packet, stamp []byte) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, b := range t.bindings {
		h := p.Header
		h.SSRC, h.PayloadType = uint32(b.ssrc), uint8(b.pt)
		h.Extension, h.ExtensionProfile, h.Extensions = false, 0, nil
		if stamp != nil && b.stamp != 0 {
			_ = h.SetExtension(b.stamp, stamp) // one-byte form: 16 bytes, id 1…14
		}
		_, _ = b.writer.WriteRTP(&h, p.Payload)
	}
}

// stampID is the negotiated id of the frame stamp, 0 when it was not.
func stampID(exts []webrtc.RTPHeaderExtensionParameter) uint8 {
	for _, e := range exts {
		if e.URI == framestamp.URI && e.ID > 0 && e.ID < 15 {
			return uint8(e.ID)
		}
	}
	return 0
}

// matchCodec finds want among the negotiated codecs: same MIME type and
// clock rate, and for H.264 packetization mode 1 and a profile the
// constrained-baseline stream decodes as (profile_idc 0x42, or
// constraint_set1 set).
func matchCodec(want webrtc.RTPCodecCapability, have []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	for _, c := range have {
		if !strings.EqualFold(c.MimeType, want.MimeType) || c.ClockRate != want.ClockRate {
			continue
		}
		if strings.EqualFold(want.MimeType, webrtc.MimeTypeH264) && !h264Compatible(c.SDPFmtpLine) {
			continue
		}
		return c, true
	}
	return webrtc.RTPCodecParameters{}, false
}

// h264Compatible reports whether an H.264 fmtp line accepts the hall's
// stream: packetization-mode=1 and a baseline-compatible profile-level-id
// (absent means 420010, baseline).
func h264Compatible(fmtp string) bool {
	params := map[string]string{}
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		params[strings.ToLower(k)] = strings.ToLower(v)
	}
	if params["packetization-mode"] != "1" {
		return false
	}
	plid := params["profile-level-id"]
	if plid == "" {
		return true
	}
	if len(plid) != 6 {
		return false
	}
	var idc, constraints byte
	if _, err := fmt.Sscanf(plid[:4], "%02x%02x", &idc, &constraints); err != nil {
		return false
	}
	return idc == 0x42 || constraints&0x40 != 0
}
