package rtc

import (
	"errors"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/mediaclip"
)

// codecCase is one payload and what its descriptor says (or that it is
// malformed).
type codecCase struct {
	name    string
	payload []byte
	want    packetInfo
	wantErr bool
}

func runCodecCases(t *testing.T, d depacketizer, cases []codecCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.parse(tc.payload)
			if tc.wantErr {
				if err == nil || !(errors.Is(err, errShortPayload) || errors.Is(err, errBadPayload)) {
					t.Fatalf("parse(% x) = %+v, %v; want errShortPayload or errBadPayload", tc.payload, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parse(% x) = %+v, %v; want %+v", tc.payload, got, err, tc.want)
			}
		})
	}
}

func TestVP8Depacketizer(t *testing.T) {
	runCodecCases(t, &vp8Depacketizer{}, []codecCase{
		{"start of a keyframe", []byte{0x10, 0x00}, packetInfo{start: true, key: true}, false},
		{"start of a delta frame", []byte{0x10, 0x01}, packetInfo{start: true}, false},
		{"continuation", []byte{0x00, 0x00}, packetInfo{}, false},
		{"start of partition 1 is no frame start", []byte{0x11, 0x00}, packetInfo{}, false},
		{"7-bit picture id", []byte{0x90, 0x80, 0x05, 0x00},
			packetInfo{start: true, key: true, hasPictureID: true, pictureID: 5}, false},
		{"15-bit picture id", []byte{0x90, 0x80, 0x81, 0x23, 0x01},
			packetInfo{start: true, hasPictureID: true, pictureID: 0x123}, false},
		{"TL0PICIDX, TID 2 with Y, KEYIDX", []byte{0x90, 0x70, 0x07, 0b10_1_10011, 0x01},
			packetInfo{start: true, hasTL0: true, tl0: 7, layered: true, tid: 2, sync: true}, false},
		{"TID 1 without Y", []byte{0x80, 0x20, 0x40, 0x01}, packetInfo{layered: true, tid: 1}, false},
		{"KEYIDX without T is not layered", []byte{0x90, 0x10, 0x1f, 0x01}, packetInfo{start: true}, false},
		{"empty", []byte{}, packetInfo{}, true},
		{"descriptor only", []byte{0x10}, packetInfo{}, true},
		{"X without its byte", []byte{0x90}, packetInfo{}, true},
		{"I without picture id", []byte{0x90, 0x80}, packetInfo{}, true},
		{"15-bit picture id cut", []byte{0x90, 0x80, 0x81}, packetInfo{}, true},
		{"T without its byte", []byte{0x90, 0x20}, packetInfo{}, true},
		{"no payload after a full descriptor", []byte{0x90, 0xf0, 0x81, 0x23, 0x07, 0x40}, packetInfo{}, true},
	})
}

func TestH264Depacketizer(t *testing.T) {
	runCodecCases(t, h264Depacketizer{}, []codecCase{
		{"single IDR slice", []byte{0x65, 0x88, 0x80}, packetInfo{start: true, key: true}, false},
		{"single non-IDR slice", []byte{0x41, 0x9a}, packetInfo{start: true}, false},
		{"SPS alone", []byte{0x67, 0x42, 0xc0}, packetInfo{start: true, nonPicture: true}, false},
		{"SEI alone", []byte{0x06, 0x05}, packetInfo{start: true, nonPicture: true}, false},
		{"STAP-A of SPS and PPS", []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce},
			packetInfo{start: true, nonPicture: true}, false},
		{"STAP-A of SPS, PPS and IDR", []byte{0x78, 0, 2, 0x67, 0x42, 0, 1, 0x68, 0, 2, 0x65, 0x88},
			packetInfo{start: true, key: true}, false},
		{"STAP-B with DON", []byte{0x79, 0, 7, 0, 2, 0x41, 0x9a}, packetInfo{start: true}, false},
		{"FU-A start of an IDR", []byte{0x7c, 0x85, 0x88}, packetInfo{start: true, key: true}, false},
		{"FU-A middle of an IDR", []byte{0x7c, 0x05, 0x11}, packetInfo{key: true}, false},
		{"FU-A end of a slice", []byte{0x5c, 0x41, 0x11}, packetInfo{}, false},
		{"FU-B start", []byte{0x5d, 0x81, 0, 9, 0x11}, packetInfo{start: true}, false},
		{"MTAP", []byte{0x5a, 0, 0}, packetInfo{start: true}, false},
		{"empty", []byte{}, packetInfo{}, true},
		{"forbidden bit", []byte{0xe5, 0x88}, packetInfo{}, true},
		{"type 0", []byte{0x00, 0x01}, packetInfo{}, true},
		{"type 30", []byte{0x1e, 0x01}, packetInfo{}, true},
		{"FU-A header only", []byte{0x7c, 0x85}, packetInfo{}, true},
		{"FU-A start and end", []byte{0x7c, 0xc5, 0x88}, packetInfo{}, true},
		{"STAP-A empty", []byte{0x78}, packetInfo{}, true},
		{"STAP-A size past the end", []byte{0x78, 0, 5, 0x67}, packetInfo{}, true},
		{"STAP-A half a size", []byte{0x78, 0, 1, 0x67, 0}, packetInfo{}, true},
		{"STAP-A zero size", []byte{0x78, 0, 0}, packetInfo{}, true},
	})
}

func TestVP9Depacketizer(t *testing.T) {
	runCodecCases(t, vp9Depacketizer{}, []codecCase{
		{"non-flexible keyframe start", []byte{0xa8, 0x05, 0x00, 0x07, 0x82},
			packetInfo{start: true, key: true, hasPictureID: true, pictureID: 5, hasTL0: true, tl0: 7}, false},
		{"non-flexible delta start", []byte{0xe8, 0x05, 0x20, 0x07, 0x86},
			packetInfo{start: true, hasPictureID: true, pictureID: 5, hasTL0: true, tl0: 7}, false},
		{"flexible, 15-bit picture id, two references", []byte{0xd8, 0x81, 0x02, 0x03, 0x04, 0x86},
			packetInfo{start: true, hasPictureID: true, pictureID: 0x102}, false},
		{"scalability structure", []byte{0x8a, 0x01, 0x18, 0x01, 0x40, 0x00, 0xb4, 0x01, 0x04, 0x01, 0x82},
			packetInfo{start: true, key: true, hasPictureID: true, pictureID: 1}, false},
		{"end of a frame", []byte{0x44, 0x11}, packetInfo{}, false},
		{"upper spatial layer begins", []byte{0xa8, 0x05, 0x02, 0x07, 0x82},
			packetInfo{hasPictureID: true, pictureID: 5, hasTL0: true, tl0: 7}, false},
		{"empty", []byte{}, packetInfo{}, true},
		{"picture id missing", []byte{0x88}, packetInfo{}, true},
		{"15-bit picture id cut", []byte{0x88, 0x81}, packetInfo{}, true},
		{"TL0PICIDX missing", []byte{0x28, 0x00}, packetInfo{}, true},
		{"four references", []byte{0x58, 0x03, 0x03, 0x03, 0x02, 0x86}, packetInfo{}, true},
		{"reference cut", []byte{0x58, 0x03}, packetInfo{}, true},
		{"scalability structure cut", []byte{0x0a, 0x18, 0x01}, packetInfo{}, true},
		{"picture group cut", []byte{0x0a, 0x08, 0x02, 0x04}, packetInfo{}, true},
		{"no payload after the descriptor", []byte{0xa8, 0x05, 0x00, 0x07}, packetInfo{}, true},
	})
}

func TestAV1Depacketizer(t *testing.T) {
	runCodecCases(t, av1Depacketizer{}, []codecCase{
		{"new coded video sequence", []byte{0x18, 0x0a, 0x0b}, packetInfo{start: true, key: true}, false},
		{"whole OBUs", []byte{0x10, 0x32}, packetInfo{start: true}, false},
		{"continued fragment", []byte{0x90, 0x32}, packetInfo{}, false},
		{"fragment continues", []byte{0x50, 0x32}, packetInfo{start: true}, false},
		{"empty", []byte{}, packetInfo{}, true},
		{"header only", []byte{0x18}, packetInfo{}, true},
		{"N on a continued fragment", []byte{0x88, 0x32}, packetInfo{}, true},
	})
}

func TestNewDepacketizer(t *testing.T) {
	tests := []struct {
		mime  string
		want  depacketizer
		exact bool
	}{
		{webrtc.MimeTypeVP8, &vp8Depacketizer{}, true},
		{"VIDEO/vp8", &vp8Depacketizer{}, true},
		{webrtc.MimeTypeH264, h264Depacketizer{}, false},
		{webrtc.MimeTypeVP9, vp9Depacketizer{}, true},
		{webrtc.MimeTypeAV1, av1Depacketizer{}, false},
		{webrtc.MimeTypeH265, nil, false},
		{"", nil, false},
	}
	for _, tc := range tests {
		d := newDepacketizer(tc.mime)
		if (d == nil) != (tc.want == nil) || d != nil && typeName(d) != typeName(tc.want) {
			t.Errorf("newDepacketizer(%q) = %T, want %T", tc.mime, d, tc.want)
		}
		if got := newFrameBuffer(d).exact; got != tc.exact {
			t.Errorf("newDepacketizer(%q): exact start %v, want %v", tc.mime, got, tc.exact)
		}
	}
}

func typeName(d depacketizer) string {
	switch d.(type) {
	case *vp8Depacketizer:
		return "vp8"
	case h264Depacketizer:
		return "h264"
	case vp9Depacketizer:
		return "vp9"
	case av1Depacketizer:
		return "av1"
	}
	return "?"
}

// TestDepacketizerRealClips reads the descriptors of the hall's real clips as
// pion's payloaders packetize them: the first packet of every frame, and
// only it, starts a frame (for H.264, begins a NAL unit: every packet but an
// FU-A continuation), and the keyframes are the clip's.
func TestDepacketizerRealClips(t *testing.T) {
	for _, codec := range mediaclip.Codecs() {
		for _, ki := range mediaclip.KeyIntervals() {
			t.Run(string(codec)+"/"+ki.String(), func(t *testing.T) {
				clip, err := mediaclip.Open(codec, ki)
				if err != nil {
					t.Fatal(err)
				}
				mime, pkts, _ := fbClipStream(t, codec, ki, len(clip.Frames), 0)
				d := newDepacketizer(mime)
				keyOf := make([]bool, len(clip.Frames))
				var lastPID uint16
				for i, p := range pkts {
					info, err := d.parse(p.pkt.Payload)
					if err != nil {
						t.Fatalf("packet %d (frame %d): %v", i, p.frame, err)
					}
					first := i == 0 || pkts[i-1].frame != p.frame
					keyOf[p.frame] = keyOf[p.frame] || info.key
					switch codec {
					case mediaclip.VP8:
						if info.start != first {
							t.Fatalf("packet %d (frame %d): start %v, want %v", i, p.frame, info.start, first)
						}
						if !info.hasPictureID || first && i > 0 && info.pictureID != (lastPID+1)&0x7fff {
							t.Fatalf("packet %d: picture id %v %d after %d", i, info.hasPictureID, info.pictureID, lastPID)
						}
						lastPID = info.pictureID
					case mediaclip.H264:
						fuCont := p.pkt.Payload[0]&0x1f == h264FUA && p.pkt.Payload[1]&0x80 == 0
						if info.start == fuCont || first && !info.start {
							t.Fatalf("packet %d (frame %d, first %v): start %v", i, p.frame, first, info.start)
						}
					}
				}
				for i, f := range clip.Frames {
					if keyOf[i] != f.Key {
						t.Errorf("frame %d: key %v, the clip says %v", i, keyOf[i], f.Key)
					}
				}
			})
		}
	}
}
