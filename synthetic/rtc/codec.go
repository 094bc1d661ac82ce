package rtc

import (
	"errors"
	"strings"

	"github.com/pion/webrtc/v4"
)

// packetInfo is what a codec's payload descriptor says about one RTP packet.
// The frame buffer needs no more than this: where a frame starts, whether it
// is a keyframe, and (VP8) its temporal layer.
type packetInfo struct {
	// start: the packet begins a frame (VP8 S=1 and PID=0; VP9 B; H.264 the
	// start of a NAL unit: single NAL, STAP-A, FU-A with S; AV1 !Z). Only
	// VP8's and VP9's are exact: an H.264 or AV1 frame may hold several
	// packets that begin a NAL unit or an OBU (see exactStart).
	start bool
	// key: the packet is part of a keyframe (VP8 P=0 in the payload header
	// of a start packet; H.264 an IDR slice; VP9 P=0 on a start packet;
	// AV1 N, the first packet of a coded video sequence).
	key bool
	// nonPicture: the packet carries no picture data (H.264 parameter sets,
	// SEI, access unit delimiters alone). A frame of such packets only is
	// no frame: it is neither counted nor rendered.
	nonPicture bool

	// VP8 only. layered: the descriptor carried T, so tid and sync are valid.
	layered bool
	tid     uint8
	sync    bool // Y: the frame depends on the TL0 frame only
	// hasTL0: the descriptor carried L, so tl0 (TL0PICIDX) is valid.
	hasTL0 bool
	tl0    uint8
	// hasPictureID: the descriptor carried I (VP8, VP9), so pictureID (7 or
	// 15 bits) is valid.
	hasPictureID bool
	pictureID    uint16
}

// depacketizer reads the payload descriptor of one codec. parse looks at the
// header bytes only and allocates nothing.
type depacketizer interface {
	parse(payload []byte) (packetInfo, error)
}

// exactStarter is a depacketizer whose start flag marks a frame's first
// packet exactly (VP8, VP9); for the others the frame buffer finds a frame's
// first packet from the end of the frame before it.
type exactStarter interface {
	exactStart() bool
}

// errShortPayload and errBadPayload are the errors parse returns.
var (
	errShortPayload = errors.New("payload too short for its descriptor")
	errBadPayload   = errors.New("malformed payload descriptor")
)

// newDepacketizer returns the depacketizer of a codec by its MIME type
// (webrtc.MimeTypeVP8, MimeTypeH264, MimeTypeVP9, MimeTypeAV1; case does not
// matter), or nil for any other: the frame buffer then delimits frames by RTP
// timestamp and marker only, and counts every complete frame that follows on
// from the one before it.
func newDepacketizer(mimeType string) depacketizer {
	switch {
	case strings.EqualFold(mimeType, webrtc.MimeTypeVP8):
		return &vp8Depacketizer{}
	case strings.EqualFold(mimeType, webrtc.MimeTypeH264):
		return h264Depacketizer{}
	case strings.EqualFold(mimeType, webrtc.MimeTypeVP9):
		return vp9Depacketizer{}
	case strings.EqualFold(mimeType, webrtc.MimeTypeAV1):
		return av1Depacketizer{}
	}
	return nil
}
