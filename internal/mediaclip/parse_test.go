package mediaclip

import (
	"encoding/binary"
	"strings"
	"testing"
)

func ivf(frames ...[]byte) []byte {
	b := make([]byte, 32)
	copy(b, "DKIF")
	binary.LittleEndian.PutUint16(b[6:], 32)
	copy(b[8:], "VP80")
	binary.LittleEndian.PutUint16(b[12:], 16)
	binary.LittleEndian.PutUint16(b[14:], 16)
	binary.LittleEndian.PutUint32(b[16:], 25)
	binary.LittleEndian.PutUint32(b[20:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(len(frames)))
	for i, f := range frames {
		var fh [12]byte
		binary.LittleEndian.PutUint32(fh[:], uint32(len(f)))
		binary.LittleEndian.PutUint64(fh[4:], uint64(i))
		b = append(append(b, fh[:]...), f...)
	}
	return b
}

var (
	vp8Key   = []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00, 0xaa}
	vp8Delta = []byte{0x31, 0x01, 0x00, 0xbb}
)

func TestParseIVF(t *testing.T) {
	h, frames, err := ParseIVF(ivf(vp8Key, vp8Delta, vp8Delta))
	if err != nil {
		t.Fatal(err)
	}
	if h.FourCC != "VP80" || h.Width != 16 || h.Rate != 25 || h.Scale != 1 || len(frames) != 3 {
		t.Fatalf("header %+v, %d frames", h, len(frames))
	}
	if !frames[0].Key || frames[1].Key || string(frames[2].Data) != string(vp8Delta) {
		t.Errorf("frames %+v", frames)
	}
	good := ivf(vp8Key)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"short", good[:20], "shorter than the 32-byte header"},
		{"signature", append([]byte("RIFF"), good[4:]...), `signature "RIFF"`},
		{"no frames", good[:32], "no frames"},
		{"truncated frame header", good[:40], "truncated frame header"},
		{"truncated frame", good[:len(good)-1], "size 11 exceeds the 10 bytes left"},
		{"keyframe without start code", ivf([]byte{0x10, 0, 0, 1, 2, 3, 4, 5, 6, 7}), "without its start code"},
		{"tiny frame", ivf([]byte{1}), "shorter than a VP8 frame tag"},
	}
	for _, tc := range tests {
		if _, _, err := ParseIVF(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestParseAnnexB(t *testing.T) {
	sps := []byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f}
	pps := []byte{0, 0, 0, 1, 0x68, 0xcb}
	idr := []byte{0, 0, 1, 0x65, 0x88, 0x84}
	idr2 := []byte{0, 0, 1, 0x65, 0x40, 0x01} // first_mb_in_slice ≠ 0: same picture
	p := []byte{0, 0, 1, 0x41, 0x9a, 0x02}
	sei := []byte{0, 0, 0, 1, 0x06, 0x05, 0x01}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	stream := cat(sps, pps, sei, idr, idr2, p, p, []byte{0, 0}, sps, pps, idr, p)
	frames, err := ParseAnnexB(stream)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key   bool
		types []byte
	}{
		{true, []byte{7, 8, 6, 5, 5}}, {false, []byte{1}}, {false, []byte{1}}, {true, []byte{7, 8, 5}}, {false, []byte{1}},
	}
	if len(frames) != len(want) {
		t.Fatalf("%d frames, want %d", len(frames), len(want))
	}
	for i, w := range want {
		if got := NALTypes(frames[i].Data); frames[i].Key != w.key || string(got) != string(w.types) {
			t.Errorf("frame %d: key %v, NAL types %v; want %v, %v", i, frames[i].Key, got, w.key, w.types)
		}
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no start code"},
		{"junk before", cat([]byte{7}, idr), "1 bytes before the first start code"},
		{"forbidden bit", []byte{0, 0, 1, 0xe5, 1}, "forbidden_zero_bit"},
		{"empty NAL", cat([]byte{0, 0, 1}, idr), "empty"},
		{"no slice", cat(sps, pps), "no slice"},
		{"trailing parameter sets", cat(idr, sps), "ends with NAL units but no slice"},
	}
	for _, tc := range tests {
		if _, err := ParseAnnexB(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func FuzzParseIVF(f *testing.F) {
	f.Add(ivf(vp8Key, vp8Delta))
	if data, err := clipFS.ReadFile("testdata/vp8-gop50-low.ivf"); err == nil {
		f.Add(data[:min(len(data), 4096)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, frames, err := ParseIVF(data)
		if err != nil {
			return
		}
		total := 0
		for _, fr := range frames {
			if len(fr.Data) < 3 || fr.Key != (fr.Data[0]&1 == 0) {
				t.Fatalf("frame % x: key %v", fr.Data[:min(len(fr.Data), 3)], fr.Key)
			}
			total += len(fr.Data) + ivfFrameHeaderLen
		}
		if total > len(data) {
			t.Fatalf("frames hold %d bytes of %d", total, len(data))
		}
	})
}

func FuzzParseAnnexB(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xcb, 0, 0, 1, 0x65, 0x88, 0, 0, 1, 0x41, 0x9a})
	if data, err := clipFS.ReadFile("testdata/h264-gop50-low.h264"); err == nil {
		f.Add(data[:min(len(data), 4096)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frames, err := ParseAnnexB(data)
		if err != nil {
			return
		}
		total := 0
		for i, fr := range frames {
			types := NALTypes(fr.Data)
			vcl, idr := false, false
			for _, typ := range types {
				vcl = vcl || typ == NALSlice || typ == NALIDR
				idr = idr || typ == NALIDR
			}
			if !vcl || fr.Key != idr {
				t.Fatalf("frame %d: NAL types %v, key %v", i, types, fr.Key)
			}
			total += len(fr.Data)
		}
		if total > len(data) {
			t.Fatalf("frames hold %d bytes of %d", total, len(data))
		}
	})
}
