package framestamp

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestMarshalParse(t *testing.T) {
	tests := []struct {
		name string
		st   Stamp
		want []byte
	}{
		{"hall", Stamp{Source: SourceHall, Frame: 1, Sent: time.Unix(0, 1)},
			[]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}},
		{"publisher", Stamp{Source: 0x01020304, Frame: 0xfffffffe, Sent: time.Unix(1_700_000_000, 123456789)},
			[]byte{1, 2, 3, 4, 0xff, 0xff, 0xff, 0xfe, 0x17, 0x97, 0x9c, 0xfe, 0x3d, 0x85, 0xcd, 0x15}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.st.Marshal()
			if !bytes.Equal(b, tc.want) {
				t.Fatalf("Marshal = % x, want % x", b, tc.want)
			}
			got, err := Parse(b)
			if err != nil || got.Source != tc.st.Source || got.Frame != tc.st.Frame || !got.Sent.Equal(tc.st.Sent) {
				t.Errorf("Parse = %+v, %v; want %+v", got, err, tc.st)
			}
		})
	}
	for _, n := range []int{0, 15, 17} {
		if _, err := Parse(make([]byte, n)); !errors.Is(err, ErrBadStamp) {
			t.Errorf("Parse(%d bytes) = %v, want ErrBadStamp", n, err)
		}
	}
}

// TestOnTheWire: the stamp survives an RTP packet's round trip in the
// one-byte header form, and FromHeader tells the cases apart.
func TestOnTheWire(t *testing.T) {
	st := Stamp{Source: 7, Frame: 42, Sent: time.Unix(1_700_000_000, 5)}
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1}, Payload: []byte{1, 2, 3}}
	if err := p.SetExtension(3, st.Marshal()); err != nil {
		t.Fatal(err)
	}
	raw, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var q rtp.Packet
	if err := q.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	if q.ExtensionProfile != rtp.ExtensionProfileOneByte {
		t.Errorf("profile %#x, want one-byte", q.ExtensionProfile)
	}
	tests := []struct {
		name   string
		h      *rtp.Header
		id     uint8
		wantOK bool
	}{
		{"negotiated", &q.Header, 3, true},
		{"other id", &q.Header, 4, false},
		{"not negotiated", &q.Header, 0, false},
		{"no extension", &rtp.Header{}, 3, false},
	}
	for _, tc := range tests {
		got, ok := FromHeader(tc.h, tc.id)
		if ok != tc.wantOK || ok && (got.Frame != 42 || got.Source != 7 || !got.Sent.Equal(st.Sent)) {
			t.Errorf("%s: %+v, %v", tc.name, got, ok)
		}
	}
	short := rtp.Header{}
	_ = short.SetExtension(3, []byte{1, 2})
	if _, ok := FromHeader(&short, 3); ok {
		t.Error("a 2-byte extension parsed")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Stamp{Source: 1, Frame: 2, Sent: time.Unix(3, 4)}.Marshal())
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Parse(b)
		if err != nil {
			if len(b) == Len {
				t.Fatalf("16 bytes rejected: %v", err)
			}
			return
		}
		if !bytes.Equal(st.Marshal(), b) {
			t.Fatalf("round trip % x → % x", b, st.Marshal())
		}
	})
}
