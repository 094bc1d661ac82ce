package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/framestamp"
	"github.com/bidwatch/bidwatch/internal/mediaclip"
)

// nalBodies splits an Annex B stream into its NAL units without start
// codes, so two packagings of one access unit compare equal.
func nalBodies(b []byte) [][]byte {
	var out [][]byte
	for _, part := range bytes.Split(b, []byte{0, 0, 1}) {
		part = bytes.TrimRight(part, "\x00")
		if len(part) > 0 {
			out = append(out, part)
		}
	}
	return out
}

func sameFrame(codec string, got, want []byte) bool {
	if codec == CodecVP8 {
		return bytes.Equal(got, want)
	}
	g, w := nalBodies(got), nalBodies(want)
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		if !bytes.Equal(g[i], w[i]) {
			return false
		}
	}
	return true
}

// clipMatch follows received frames through the clip: each must be the
// next frame of the clip (either rendition), or the clip's next keyframe (a
// jump). It returns the jumps and the frames of the low rendition.
type clipMatch struct {
	codec      string
	clip       *mediaclip.Clip
	pos        int // the next expected frame; -1 before the first
	jumps, low int
	firstLow   int // index of the first low-rendition frame, -1 if none
}

func (m *clipMatch) find(data []byte, p int) (int, bool, bool) {
	switch {
	case sameFrame(m.codec, data, m.clip.Frames[p].Data):
		return p, false, true
	case sameFrame(m.codec, data, m.clip.Low.Frames[p].Data):
		return p, true, true
	}
	return 0, false, false
}

func (m *clipMatch) add(t *testing.T, i int, f rxFrame) {
	t.Helper()
	n := len(m.clip.Frames)
	if m.pos < 0 {
		for p := range n {
			if q, low, ok := m.find(f.data, p); ok {
				m.pos = q
				_ = low
				break
			}
		}
		if m.pos < 0 {
			t.Fatalf("frame %d (%d bytes) is no frame of %s", i, len(f.data), m.clip.Name)
		}
	}
	q, low, ok := m.find(f.data, m.pos)
	if !ok {
		k := m.clip.NextKey(m.pos)
		if q, low, ok = m.find(f.data, k); !ok {
			t.Fatalf("frame %d is neither frame %d of %s nor its next keyframe %d", i, m.pos, m.clip.Name, k)
		}
		m.jumps++
	}
	if low {
		if m.low == 0 {
			m.firstLow = i
		}
		m.low++
	}
	if f.key != m.clip.Frames[q].Key {
		t.Fatalf("frame %d: key %v, clip frame %d says %v", i, f.key, q, m.clip.Frames[q].Key)
	}
	m.pos = (q + 1) % n
}

// TestVideoIsTheClip: a pion receiver depacketizes the room's video: every
// frame is whole and is the clip's next frame (so keyframes come where the
// clip has them: every 2 s, or 10 s), RTP timestamps advance 3600 a frame,
// the frame stamp counts frames. A freeze pauses the clip: the frame after
// it is the next one.
func TestVideoIsTheClip(t *testing.T) {
	tests := []struct {
		codec    string
		interval time.Duration
		frames   int
		freeze   bool
	}{
		{CodecVP8, 2 * time.Second, 115, true},
		{CodecH264, 2 * time.Second, 115, true},
		{CodecVP8, 10 * time.Second, 50, false},
		{CodecH264, 10 * time.Second, 50, false},
	}
	for _, tc := range tests {
		t.Run(tc.codec+"/"+tc.interval.String(), func(t *testing.T) {
			s, base := newTestServer(t, Options{KeyInterval: tc.interval, Rooms: []RoomSpec{{ID: "r", Codec: tc.codec}}})
			clip, err := mediaclip.Open(mediaclip.Codec(tc.codec), tc.interval)
			if err != nil {
				t.Fatal(err)
			}
			v := newViewerOpts(t, base+"/rooms/r/whep", viewerOpts{codecs: []string{tc.codec}})
			v.waitFrames(t, 10, 10*time.Second)
			if tc.freeze {
				if err := s.SetFault("r", Fault{FreezeMS: 300}); err != nil {
					t.Fatal(err)
				}
			}
			v.waitFrames(t, tc.frames, 15*time.Second)
			frames := v.framesSince(0)
			m := clipMatch{codec: tc.codec, clip: clip, pos: -1, firstLow: -1}
			var keys []int
			extra := 0 // frame slots skipped (the freeze)
			for i, f := range frames {
				if !f.whole || !f.stamped {
					t.Fatalf("frame %d: whole %v, stamped %v", i, f.whole, f.stamped)
				}
				m.add(t, i, f)
				if f.key {
					keys = append(keys, i)
				}
				if i == 0 {
					continue
				}
				if d := f.ts - frames[i-1].ts; d%3600 != 0 || d == 0 {
					t.Fatalf("frame %d: RTP timestamp +%d, want a multiple of 3600", i, d)
				} else {
					extra += int(d/3600) - 1
				}
				if f.stamp.Frame != frames[i-1].stamp.Frame+1 || f.stamp.Source != framestamp.SourceHall {
					t.Fatalf("frame %d: stamp %+v after %+v", i, f.stamp, frames[i-1].stamp)
				}
			}
			if m.jumps != 0 || m.low != 0 {
				t.Errorf("%d jumps, %d low-rendition frames; want none", m.jumps, m.low)
			}
			for i := 1; i < len(keys); i++ {
				if keys[i]-keys[i-1] != clip.GOP {
					t.Errorf("keyframes at %v: want %d frames apart", keys, clip.GOP)
				}
			}
			if tc.interval == 2*time.Second && len(keys) < 2 {
				t.Errorf("keyframes at %v in %d frames", keys, len(frames))
			}
			if want := 0; !tc.freeze && extra != want {
				t.Errorf("%d frame slots skipped, want 0", extra)
			}
			if tc.freeze && (extra < 6 || extra > 9) {
				t.Errorf("%d frame slots skipped by a 300 ms freeze, want 7 or 8", extra)
			}
			t.Logf("%d frames, keyframes at %v, %d slots frozen", len(frames), keys, extra)
		})
	}
}

// TestBitrateDropSwitchesRendition: the bitrate-drop fault switches to the
// low rendition at once, at a keyframe, and back when cleared.
func TestBitrateDropSwitchesRendition(t *testing.T) {
	s, base := newTestServer(t, Options{Rooms: []RoomSpec{{ID: "r"}}})
	clip, err := mediaclip.Open(mediaclip.VP8, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	v := newViewerOpts(t, base+"/rooms/r/whep", viewerOpts{codecs: []string{CodecVP8}})
	v.waitFrames(t, 10, 10*time.Second)
	if err := s.SetFault("r", Fault{BitratePct: 20}); err != nil {
		t.Fatal(err)
	}
	v.waitFrames(t, 40, 10*time.Second)
	if err := s.ClearFault("r"); err != nil {
		t.Fatal(err)
	}
	v.waitFrames(t, 60, 10*time.Second)
	frames := v.framesSince(0)
	m := clipMatch{codec: CodecVP8, clip: clip, pos: -1, firstLow: -1}
	for i, f := range frames {
		if !f.whole {
			t.Fatalf("frame %d not whole", i)
		}
		m.add(t, i, f)
	}
	if m.low == 0 || !frames[m.firstLow].key || m.firstLow > 12 {
		t.Fatalf("low rendition from frame %d (%d frames): want a keyframe right after the fault", m.firstLow, m.low)
	}
	if last := m.firstLow + m.low; last >= len(frames) || !frames[last].key {
		t.Errorf("back to the main rendition at frame %d: want a keyframe", last)
	}
	if m.jumps < 1 || m.jumps > 2 {
		t.Errorf("%d jumps to a keyframe, want 1 or 2 (a switch may fall on a keyframe)", m.jumps)
	}
}

// TestExtmap: the answer carries the frame stamp's extmap, and the packets
// the extension, only for a viewer that offered it; an offer without the
// room's codec is refused, naming what it offered.
func TestExtmap(t *testing.T) {
	_, base := newTestServer(t, Options{Rooms: []RoomSpec{{ID: "v"}, {ID: "h", Codec: CodecH264}}})
	for _, tc := range []struct {
		name    string
		room    string
		opts    viewerOpts
		stamped bool
	}{
		{"vp8 offered", "v", viewerOpts{codecs: []string{CodecVP8}}, true},
		{"vp8 not offered", "v", viewerOpts{codecs: []string{CodecVP8}, noStamp: true}, false},
		{"h264 offered", "h", viewerOpts{codecs: []string{CodecVP8, CodecH264}}, true},
		{"h264 not offered", "h", viewerOpts{codecs: []string{CodecH264}, noStamp: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newViewerOpts(t, base+"/rooms/"+tc.room+"/whep", tc.opts)
			if got := strings.Contains(v.answer, framestamp.URI); got != tc.stamped {
				t.Errorf("answer has the extmap: %v, want %v", got, tc.stamped)
			}
			v.waitFrames(t, 5, 10*time.Second)
			for i, f := range v.framesSince(0) {
				if f.ext != tc.stamped || f.stamped != tc.stamped {
					t.Fatalf("frame %d: extension %v, stamp %v; want %v", i, f.ext, f.stamped, tc.stamped)
				}
			}
		})
	}
	t.Run("codec not offered", func(t *testing.T) {
		v := newViewerOpts(t, base+"/rooms/h/whep", viewerOpts{codecs: []string{CodecVP8}, status: 400})
		if want := `room "h" sends H.264 with packetization-mode=1`; !strings.Contains(v.body, want) || !strings.Contains(v.body, "(it offers VP8)") {
			t.Errorf("body %q, want %q … (it offers VP8)", v.body, want)
		}
	})
}

// TestDecodesInFFmpeg pipes one loop of depacketized frames into ffmpeg's
// decoders (libavcodec's VP8 and H.264) when ffmpeg is installed: every
// frame decodes. The interop tests check the same with aiortc in CI.
func TestDecodesInFFmpeg(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	for _, codec := range []string{CodecVP8, CodecH264} {
		t.Run(codec, func(t *testing.T) {
			_, base := newTestServer(t, Options{Rooms: []RoomSpec{{ID: "r", Codec: codec}}})
			v := newViewerOpts(t, base+"/rooms/r/whep", viewerOpts{codecs: []string{codec}})
			const loop = 100
			v.waitFrames(t, loop+55, 20*time.Second)
			frames := v.framesSince(0)
			first := -1
			for i, f := range frames {
				if f.key {
					first = i
					break
				}
			}
			if first < 0 || first+loop > len(frames) {
				t.Fatalf("no keyframe followed by %d frames in %d", loop, len(frames))
			}
			frames = frames[first : first+loop]
			var file []byte
			format := "h264"
			if codec == CodecVP8 {
				format = "ivf"
				file = make([]byte, 32)
				copy(file, "DKIF")
				binary.LittleEndian.PutUint16(file[6:], 32)
				copy(file[8:], "VP80")
				binary.LittleEndian.PutUint16(file[12:], 320)
				binary.LittleEndian.PutUint16(file[14:], 180)
				binary.LittleEndian.PutUint32(file[16:], 25)
				binary.LittleEndian.PutUint32(file[20:], 1)
				binary.LittleEndian.PutUint32(file[24:], loop)
			}
			for i, f := range frames {
				if !f.whole {
					t.Fatalf("frame %d not whole", i)
				}
				if codec == CodecVP8 {
					var fh [12]byte
					binary.LittleEndian.PutUint32(fh[:], uint32(len(f.data)))
					binary.LittleEndian.PutUint64(fh[4:], uint64(i))
					file = append(file, fh[:]...)
				}
				file = append(file, f.data...)
			}
			path := filepath.Join(t.TempDir(), "loop."+format)
			if err := os.WriteFile(path, file, 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "error", "-f", format, "-i", path, "-f", "framemd5", "-")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 {
				t.Fatalf("ffmpeg: %v: %s", err, stderr.String())
			}
			decoded := 0
			for _, line := range strings.Split(string(out), "\n") {
				if line != "" && !strings.HasPrefix(line, "#") {
					decoded++
				}
			}
			if decoded != loop {
				t.Errorf("ffmpeg decoded %d frames of %d", decoded, loop)
			}
		})
	}
}
