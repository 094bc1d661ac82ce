package mediaclip

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOpen(t *testing.T) {
	tests := []struct {
		codec      Codec
		interval   time.Duration
		wantFrames int
		wantKeys   []int
	}{
		{VP8, 2 * time.Second, 100, []int{0, 50}},
		{VP8, 10 * time.Second, 250, []int{0}},
		{H264, 2 * time.Second, 100, []int{0, 50}},
		{H264, 10 * time.Second, 250, []int{0}},
	}
	for _, tc := range tests {
		t.Run(string(tc.codec)+"/"+tc.interval.String(), func(t *testing.T) {
			c, err := Open(tc.codec, tc.interval)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []*Clip{c, c.Low} {
				if r == nil {
					t.Fatal("no low rendition")
				}
				if len(r.Frames) != tc.wantFrames || r.FPS != 25 || r.Codec != tc.codec {
					t.Errorf("%s: %d frames at %d fps, %s; want %d at 25, %s", r.Name, len(r.Frames), r.FPS, r.Codec, tc.wantFrames, tc.codec)
				}
				var keys []int
				for i, f := range r.Frames {
					if f.Key {
						keys = append(keys, i)
					}
				}
				if !equalInts(keys, tc.wantKeys) {
					t.Errorf("%s: keyframes at %v, want %v", r.Name, keys, tc.wantKeys)
				}
				if r.Duration() != time.Duration(tc.wantFrames)*40*time.Millisecond {
					t.Errorf("%s: duration %s", r.Name, r.Duration())
				}
			}
			if c.Low.Low != nil {
				t.Error("a rendition has a rendition")
			}
			if size(c.Low)*10 > size(c)*6 { // libvpx bottoms out near 20 kbit/s on 160×90
				t.Errorf("low rendition %d bytes, main %d: not low", size(c.Low), size(c))
			}
		})
	}
}

func size(c *Clip) int {
	n := 0
	for _, f := range c.Frames {
		n += len(f.Data)
	}
	return n
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		codec    Codec
		interval time.Duration
		want     string
	}{
		{"av2", 2 * time.Second, `unknown codec "av2" (want vp8 or h264)`},
		{VP8, 3 * time.Second, "keyframe interval 3s (want [2s 10s])"},
		{H264, 2*time.Second + time.Millisecond, "keyframe interval 2.001s"},
	}
	for _, tc := range tests {
		_, err := Open(tc.codec, tc.interval)
		if !errors.Is(err, ErrNoClip) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q, %s) = %v, want ErrNoClip with %q", tc.codec, tc.interval, err, tc.want)
		}
	}
}

func TestH264AccessUnits(t *testing.T) {
	c, err := Open(H264, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range c.Frames {
		types := NALTypes(f.Data)
		slices := 0
		for _, typ := range types {
			if typ == NALSlice || typ == NALIDR {
				slices++
			}
		}
		if slices == 0 || !bytes.HasPrefix(f.Data, []byte{0, 0, 0, 1}) && !bytes.HasPrefix(f.Data, []byte{0, 0, 1}) {
			t.Fatalf("frame %d: NAL units %v, starts % x", i, types, f.Data[:4])
		}
		if f.Key && types[0] != NALSPS {
			t.Errorf("frame %d: keyframe starts with NAL type %d, want SPS", i, types[0])
		}
	}
}

func TestNextKey(t *testing.T) {
	c, err := Open(VP8, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want int }{{0, 0}, {1, 50}, {49, 50}, {50, 50}, {51, 0}, {99, 0}, {100, 0}, {151, 0}, {-1, 0}, {-60, 50}} {
		if got := c.NextKey(tc.in); got != tc.want {
			t.Errorf("NextKey(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	key, delta := Frame{Data: []byte{0x10, 0, 0, 0x9d, 1, 0x2a, 0, 0, 0, 0}, Key: true}, Frame{Data: []byte{1, 0, 0}}
	tests := []struct {
		name   string
		frames []Frame
		want   string
	}{
		{"empty", nil, "0 frames: want a whole number of 2-frame GOPs"},
		{"odd", []Frame{key, delta, key}, "3 frames"},
		{"late key", []Frame{key, key}, "frame 1: keyframe true, want false"},
		{"no key", []Frame{delta, delta}, "frame 0: keyframe false, want true"},
	}
	for _, tc := range tests {
		c := &Clip{Codec: VP8, FPS: 25, GOP: 2, Frames: tc.frames}
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	h := &Clip{Codec: H264, FPS: 25, GOP: 1, Frames: []Frame{{Data: []byte{0, 0, 1, 0x65, 0x88}, Key: true}}}
	if err := h.validate(); err == nil || !strings.Contains(err.Error(), "want SPS (7), PPS (8) and IDR (5)") {
		t.Errorf("H.264 keyframe without SPS/PPS: %v", err)
	}
}
