package mediaclip

import (
	"errors"
	"fmt"
)

// H.264 NAL unit types (ITU-T H.264 table 7-1) the reader tells apart.
const (
	NALSlice byte = 1
	NALIDR   byte = 5
	NALSEI   byte = 6
	NALSPS   byte = 7
	NALPPS   byte = 8
	NALAUD   byte = 9
)

// ParseAnnexB cuts an H.264 Annex B byte stream into access units (one
// frame each, start codes kept): a new access unit starts at an access unit
// delimiter, SPS, PPS or SEI that follows a slice, or at a slice whose
// first_mb_in_slice is 0 that follows a slice. An access unit is a keyframe
// when it holds an IDR slice. Frames alias data.
func ParseAnnexB(data []byte) ([]Frame, error) {
	nals := splitAnnexB(data)
	if len(nals) == 0 {
		return nil, errors.New("byte stream (Annex B): no start code")
	}
	if nals[0].start != 0 && !allZero(data[:nals[0].start]) {
		return nil, fmt.Errorf("byte stream (Annex B): %d bytes before the first start code", nals[0].start)
	}
	var frames []Frame
	auStart, hasVCL, key := -1, false, false
	flush := func(end int) {
		if auStart >= 0 && hasVCL {
			frames = append(frames, Frame{Data: data[auStart:end:end], Key: key})
		}
		auStart, hasVCL, key = -1, false, false
	}
	for i, n := range nals {
		body := data[n.body:n.end]
		if len(body) == 0 {
			return nil, fmt.Errorf("byte stream (Annex B): NAL unit %d at byte %d: empty", i, n.start)
		}
		if body[0]&0x80 != 0 {
			return nil, fmt.Errorf("byte stream (Annex B): NAL unit %d at byte %d: forbidden_zero_bit set", i, n.start)
		}
		typ := body[0] & 0x1f
		vcl := typ == NALSlice || typ == NALIDR
		switch {
		case vcl && hasVCL && firstMBZero(body):
			flush(n.start)
		case !vcl && hasVCL && (typ == NALAUD || typ == NALSPS || typ == NALPPS || typ == NALSEI):
			flush(n.start)
		}
		if auStart < 0 {
			auStart = n.start
		}
		if vcl {
			hasVCL = true
			key = key || typ == NALIDR
		}
	}
	if !hasVCL && auStart >= 0 {
		return nil, errors.New("byte stream (Annex B): the stream ends with NAL units but no slice")
	}
	flush(len(data))
	if len(frames) == 0 {
		return nil, errors.New("byte stream (Annex B): no slices")
	}
	return frames, nil
}

// NALTypes lists the NAL unit types of an Annex B access unit, in order.
func NALTypes(au []byte) []byte {
	var types []byte
	for _, n := range splitAnnexB(au) {
		if n.body < n.end {
			types = append(types, au[n.body]&0x1f)
		}
	}
	return types
}

// nalSpan is one NAL unit: its start code from start, its body from body to
// end (trailing zero bytes belong to the next start code).
type nalSpan struct{ start, body, end int }

// splitAnnexB finds the NAL units of an Annex B stream.
func splitAnnexB(data []byte) []nalSpan {
	var spans []nalSpan
	i := 0
	for i+3 <= len(data) {
		if data[i] == 0 && data[i+1] == 0 && data[i+2] == 1 {
			start := i
			if start > 0 && data[start-1] == 0 {
				start-- // four-byte start code
			}
			if len(spans) > 0 {
				spans[len(spans)-1].end = trimZeros(data, spans[len(spans)-1].body, start)
			}
			spans = append(spans, nalSpan{start: start, body: i + 3, end: len(data)})
			i += 3
			continue
		}
		i++
	}
	if len(spans) > 0 {
		spans[len(spans)-1].end = max(trimZeros(data, spans[len(spans)-1].body, len(data)), spans[len(spans)-1].body)
	}
	return spans
}

// trimZeros moves end back over zero bytes (trailing_zero_8bits) but not
// before from.
func trimZeros(data []byte, from, end int) int {
	for end > from && data[end-1] == 0 {
		end--
	}
	return end
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// firstMBZero reports whether a slice NAL unit's first_mb_in_slice is 0: its
// Exp-Golomb code is the single bit 1, the first bit after the header.
func firstMBZero(nal []byte) bool {
	return len(nal) > 1 && nal[1]&0x80 != 0
}
