// Package framestamp is the RTP header extension in which a bidwatch sender
// (the synthetic hall, a participant publishing over WHIP) says which frame a
// packet belongs to and when it was sent, so a receiver can count frames and
// measure one-way delay without reading the media payload.
//
// The extension is negotiated in SDP as a=extmap:<id> URI in the one-byte
// header form (RFC 8285); its 16 bytes are the source id (uint32), the frame
// counter (uint32) and the send time (int64 Unix nanoseconds), big-endian.
// A receiver whose offer did not negotiate it gets packets without it.
package framestamp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/pion/rtp"
)

// URI names the extension in SDP (a=extmap).
const URI = "urn:bidwatch:rtp-hdrext:frame-stamp"

// Len is the extension's length: the most the one-byte header form allows.
const Len = 16

// SourceHall is the source id of the synthetic hall's own video.
const SourceHall uint32 = 0

// ErrBadStamp is returned by Parse for anything but 16 bytes.
var ErrBadStamp = errors.New("bad frame stamp")

// Stamp is what a packet says about its frame.
type Stamp struct {
	// Source identifies the sender (SourceHall, or a publisher's id).
	Source uint32
	// Frame counts the source's frames from 0; every packet of a frame
	// carries the same counter.
	Frame uint32
	// Sent is when the sender sent the frame, to the nanosecond.
	Sent time.Time
}

// Marshal returns the extension's 16 bytes.
func (s Stamp) Marshal() []byte { return s.Append(make([]byte, 0, Len)) }

// Append appends the extension's 16 bytes to dst.
func (s Stamp) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, s.Source)
	dst = binary.BigEndian.AppendUint32(dst, s.Frame)
	return binary.BigEndian.AppendUint64(dst, uint64(s.Sent.UnixNano()))
}

// Parse reads an extension's payload.
func Parse(b []byte) (Stamp, error) {
	if len(b) != Len {
		return Stamp{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadStamp, len(b), Len)
	}
	return Stamp{
		Source: binary.BigEndian.Uint32(b),
		Frame:  binary.BigEndian.Uint32(b[4:]),
		Sent:   time.Unix(0, int64(binary.BigEndian.Uint64(b[8:]))),
	}, nil
}

// FromHeader reads the stamp carried as extension id in h; ok is false when
// id is 0 (not negotiated) or the packet carries none or a malformed one.
func FromHeader(h *rtp.Header, id uint8) (st Stamp, ok bool) {
	if id == 0 {
		return st, false
	}
	b := h.GetExtension(id)
	if b == nil {
		return st, false
	}
	st, err := Parse(b)
	return st, err == nil
}
