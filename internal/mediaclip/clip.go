package mediaclip

import (
	"embed"
	"errors"
	"fmt"
	"time"
)

//go:embed testdata/*.ivf testdata/*.h264
var clipFS embed.FS

// Codec is a video codec of the clips.
type Codec string

// The codecs of the clips.
const (
	VP8  Codec = "vp8"
	H264 Codec = "h264"
)

// Codecs lists the codecs there are clips of.
func Codecs() []Codec { return []Codec{VP8, H264} }

// FPS is the frame rate of every clip.
const FPS = 25

// KeyIntervals lists the keyframe intervals there are clips with; the first
// is the default.
func KeyIntervals() []time.Duration { return []time.Duration{2 * time.Second, 10 * time.Second} }

// ErrNoClip is returned by Open for a codec or keyframe interval there is no
// clip of.
var ErrNoClip = errors.New("no clip")

// ErrBadClip is wrapped by every error a clip's validation returns.
var ErrBadClip = errors.New("bad clip")

// Frame is one coded frame in decode order. For H.264 it is one access unit
// in Annex B form (start codes kept), SPS and PPS included before an IDR.
type Frame struct {
	Data []byte
	Key  bool
}

// Clip is a video clip cut into frames. Its frames are shared: read them,
// never modify them.
type Clip struct {
	Name   string
	Codec  Codec
	FPS    int
	GOP    int // frames from one keyframe to the next
	Frames []Frame
	// Low is the low-bitrate rendition: as many frames, keyframes at the
	// same places. Nil on a rendition itself.
	Low *Clip
}

// Duration is the clip's length at its frame rate.
func (c *Clip) Duration() time.Duration {
	return time.Duration(len(c.Frames)) * time.Second / time.Duration(c.FPS)
}

// NextKey is the index of the first keyframe at or after i, wrapping round
// the clip's end (i is taken modulo the clip's length).
func (c *Clip) NextKey(i int) int {
	n := len(c.Frames)
	i = ((i % n) + n) % n
	for j := range n {
		if k := (i + j) % n; c.Frames[k].Key {
			return k
		}
	}
	return 0 // unreachable on a validated clip: frame 0 is a keyframe
}

// Open reads the clip of codec with a keyframe every keyInterval (one of
// KeyIntervals()), and its low-bitrate rendition, and validates both.
func Open(codec Codec, keyInterval time.Duration) (*Clip, error) {
	var ext string
	switch codec {
	case VP8:
		ext = "ivf"
	case H264:
		ext = "h264"
	default:
		return nil, fmt.Errorf("%w: unknown codec %q (want vp8 or h264)", ErrNoClip, codec)
	}
	gop := int(keyInterval * FPS / time.Second)
	if keyInterval*FPS%time.Second != 0 || !hasInterval(keyInterval) {
		return nil, fmt.Errorf("%w: keyframe interval %s (want %v)", ErrNoClip, keyInterval, KeyIntervals())
	}
	name := fmt.Sprintf("%s-gop%d", codec, gop)
	main, err := load(name, ext, codec, gop)
	if err != nil {
		return nil, err
	}
	low, err := load(name+"-low", ext, codec, gop)
	if err != nil {
		return nil, err
	}
	if len(low.Frames) != len(main.Frames) {
		return nil, fmt.Errorf("%w: %s: %d frames, %s has %d", ErrBadClip, low.Name, len(low.Frames), main.Name, len(main.Frames))
	}
	main.Low = low
	return main, nil
}

func hasInterval(d time.Duration) bool {
	for _, k := range KeyIntervals() {
		if k == d {
			return true
		}
	}
	return false
}

func load(name, ext string, codec Codec, gop int) (*Clip, error) {
	data, err := clipFS.ReadFile("testdata/" + name + "." + ext)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoClip, name, err)
	}
	c := &Clip{Name: name, Codec: codec, FPS: FPS, GOP: gop}
	switch codec {
	case VP8:
		var h IVFHeader
		if h, c.Frames, err = ParseIVF(data); err == nil && h.FourCC != "VP80" {
			err = fmt.Errorf("fourcc %q, want VP80", h.FourCC)
		}
		if err == nil && h.Scale != 0 && h.Rate/h.Scale != FPS {
			err = fmt.Errorf("time base %d/%d, want 1/%d", h.Scale, h.Rate, FPS)
		}
	case H264:
		c.Frames, err = ParseAnnexB(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadClip, name, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadClip, name, err)
	}
	return c, nil
}

// validate checks the cadence a loop relies on: a whole number of GOPs,
// keyframes exactly at the multiples of GOP, and for H.264 SPS and PPS in
// every keyframe.
func (c *Clip) validate() error {
	n := len(c.Frames)
	if n == 0 || n%c.GOP != 0 {
		return fmt.Errorf("%d frames: want a whole number of %d-frame GOPs", n, c.GOP)
	}
	for i, f := range c.Frames {
		if want := i%c.GOP == 0; f.Key != want {
			return fmt.Errorf("frame %d: keyframe %v, want %v (GOP %d)", i, f.Key, want, c.GOP)
		}
		if c.Codec == H264 && f.Key {
			types := NALTypes(f.Data)
			if !containsAll(types, NALSPS, NALPPS, NALIDR) {
				return fmt.Errorf("frame %d: keyframe with NAL units %v: want SPS (7), PPS (8) and IDR (5)", i, types)
			}
		}
	}
	return nil
}

func containsAll(have []byte, want ...byte) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}
