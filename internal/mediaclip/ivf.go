package mediaclip

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ivfHeaderLen and ivfFrameHeaderLen are the sizes of an IVF file header and
// of the header before each frame.
const (
	ivfHeaderLen      = 32
	ivfFrameHeaderLen = 12
)

// IVFHeader is an IVF file header.
type IVFHeader struct {
	FourCC        string
	Width, Height int
	// Rate/Scale is the frame rate (the time base is Scale/Rate).
	Rate, Scale uint32
	Frames      uint32 // as the header says; not always right
}

// ParseIVF cuts an IVF file (VP8) into its frames. A VP8 frame is a
// keyframe when bit 0 of its frame tag is 0 (RFC 6386 §9.1). Frames alias
// data.
func ParseIVF(data []byte) (IVFHeader, []Frame, error) {
	var h IVFHeader
	if len(data) < ivfHeaderLen {
		return h, nil, fmt.Errorf("IVF: %d bytes: shorter than the %d-byte header", len(data), ivfHeaderLen)
	}
	if string(data[:4]) != "DKIF" {
		return h, nil, fmt.Errorf("IVF: signature %q, want \"DKIF\"", data[:4])
	}
	le := binary.LittleEndian
	hlen := int(le.Uint16(data[6:]))
	if hlen < ivfHeaderLen || hlen > len(data) {
		return h, nil, fmt.Errorf("IVF: header length %d: want %d…%d", hlen, ivfHeaderLen, len(data))
	}
	h.FourCC = string(data[8:12])
	h.Width, h.Height = int(le.Uint16(data[12:])), int(le.Uint16(data[14:]))
	h.Rate, h.Scale = le.Uint32(data[16:]), le.Uint32(data[20:])
	h.Frames = le.Uint32(data[24:])
	var frames []Frame
	for off := hlen; off < len(data); {
		if len(data)-off < ivfFrameHeaderLen {
			return h, nil, fmt.Errorf("IVF: frame %d at byte %d: truncated frame header", len(frames), off)
		}
		size := int(le.Uint32(data[off:]))
		off += ivfFrameHeaderLen
		if size <= 0 || size > len(data)-off {
			return h, nil, fmt.Errorf("IVF: frame %d at byte %d: size %d exceeds the %d bytes left", len(frames), off, size, len(data)-off)
		}
		f := data[off : off+size : off+size]
		if len(f) < 3 {
			return h, nil, fmt.Errorf("IVF: frame %d: %d bytes: shorter than a VP8 frame tag", len(frames), len(f))
		}
		key := f[0]&1 == 0
		if key && (len(f) < 10 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a) {
			return h, nil, fmt.Errorf("IVF: frame %d: VP8 keyframe without its start code", len(frames))
		}
		frames = append(frames, Frame{Data: f, Key: key})
		off += size
	}
	if len(frames) == 0 {
		return h, nil, errors.New("IVF: no frames")
	}
	return h, frames, nil
}
