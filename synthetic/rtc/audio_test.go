package rtc

import "testing"

func TestOpusPacketSamples(t *testing.T) {
	toc := func(config, code byte) byte { return config<<3 | code }
	tests := []struct {
		name    string
		payload []byte
		want    int64
		ok      bool
	}{
		{"SILK NB 10 ms", []byte{toc(0, 0), 1}, 480, true},
		{"SILK WB 60 ms", []byte{toc(11, 0)}, 2880, true},
		{"hybrid FB 20 ms, the WebRTC default", []byte{toc(15, 0), 0xaa}, 960, true},
		{"CELT FB 2.5 ms", []byte{toc(28, 0)}, 120, true},
		{"CELT FB 20 ms stereo", []byte{toc(31, 0) | 4}, 960, true},
		{"code 1: two frames", []byte{toc(9, 1)}, 1920, true},
		{"code 2: two frames", []byte{toc(18, 2), 3}, 960, true},
		{"code 3: six 20 ms frames", []byte{toc(31, 3), 6}, 5760, true},
		{"code 3: padding and VBR flags ignored", []byte{toc(16, 3), 0xc0 | 3}, 360, true},
		{"code 3 without its count byte", []byte{toc(31, 3)}, 0, false},
		{"code 3 with no frames", []byte{toc(31, 3), 0}, 0, false},
		{"over 120 ms", []byte{toc(3, 3), 3}, 0, false},
		{"empty", nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := opusPacketSamples(tc.payload)
			if n != tc.want || ok != tc.ok {
				t.Errorf("samples %d, ok %v; want %d, %v", n, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestOpusConcealment(t *testing.T) {
	var c opusConcealment
	if con, tot := c.add(lossCounts{expected: 50, lost: 2}); con != 2*960 || tot != 50*960 {
		t.Errorf("before any packet: %d of %d, want 20 ms packets assumed", con, tot)
	}
	c.packet([]byte{31<<3 | 1}) // CELT FB, two 20 ms frames
	c.packet(nil)               // malformed: keeps what it knew
	if con, tot := c.add(lossCounts{expected: 25, lost: -1}); con != -1920 || tot != 25*1920 {
		t.Errorf("40 ms packets: %d of %d, want -1920 of %d", con, tot, 25*1920)
	}
}
