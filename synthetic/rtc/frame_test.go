package rtc

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

func TestRTCSeqTracker(t *testing.T) {
	tests := []struct {
		name         string
		seqs         []uint16
		wantExpected int64
		wantReceived int64
		wantInvalid  int
	}{
		{"in order", []uint16{10, 11, 12, 13}, 4, 4, 0},
		{"one lost", []uint16{1, 2, 4, 5}, 5, 4, 0},
		{"wraps around", []uint16{65534, 65535, 0, 1}, 4, 4, 0},
		{"lost across the wrap", []uint16{65533, 65534, 0, 1}, 5, 4, 0},
		{"reordered", []uint16{1, 2, 4, 3, 5}, 5, 5, 0},
		{"duplicate", []uint16{1, 2, 2, 3}, 3, 4, 0},
		{"late packet from before", []uint16{100, 101, 99, 102}, 3, 4, 0},
		// RFC 3550 A.1: a big jump is a restart only when confirmed by the
		// next packet; both count then, though the first was judged invalid
		// when it came.
		{"sender restarted numbering", []uint16{1, 2, 40000, 40001, 40002}, 5, 5, 1},
		{"one stray packet", []uint16{1, 2, 40000, 3, 4}, 4, 4, 1},
		// Probation: the first packet counts only once the second follows it.
		{"probation", []uint16{7, 100, 101, 102}, 3, 3, 1},
		{"never two in sequence", []uint16{5, 900, 31000, 7, 60000}, 0, 0, 4},
		{"nothing", nil, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr seqTracker
			invalid := 0
			for _, s := range tc.seqs {
				if tr.push(s) == seqInvalid {
					invalid++
				}
			}
			e, r := tr.take()
			if e != tc.wantExpected || r != tc.wantReceived || invalid != tc.wantInvalid {
				t.Errorf("expected, received, invalid = %d, %d, %d; want %d, %d, %d",
					e, r, invalid, tc.wantExpected, tc.wantReceived, tc.wantInvalid)
			}
			if e, r := tr.take(); e != 0 || r != 0 {
				t.Errorf("next window = %d, %d; want 0, 0", e, r)
			}
		})
	}
	t.Run("windows add up", func(t *testing.T) {
		var tr seqTracker
		var exp, rec int64
		for i := range 70000 { // past a wrap, 1 in 20 lost
			if i%20 != 7 {
				tr.push(uint16(i + 60000))
			}
			if i%1000 == 999 {
				e, r := tr.take()
				exp, rec = exp+e, rec+r
			}
		}
		e, r := tr.take()
		exp, rec = exp+e, rec+r
		if exp != 70000 || rec != 70000-3500 {
			t.Errorf("expected %d received %d; want 70000 and 66500", exp, rec)
		}
	})
}

// vp8Packets packetizes frames into RTP packets the way the hall does.
func vp8Packets(t *testing.T, frames [][]byte, mtu uint16) [][]*rtp.Packet {
	t.Helper()
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	var out [][]*rtp.Packet
	seq := uint16(65530) // wraps inside
	for i, f := range frames {
		var ps []*rtp.Packet
		pls := pay.Payload(mtu, f)
		for j, pl := range pls {
			ps = append(ps, &rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(i * 3600), Marker: j == len(pls)-1},
				Payload: pl,
			})
			seq++
		}
		out = append(out, ps)
	}
	return out
}

func TestRTCAssembler(t *testing.T) {
	var frames [][]byte
	for i := range 4 {
		frames = append(frames, bytes.Repeat([]byte{byte(i)}, 2500))
	}
	tests := []struct {
		name     string
		drop     func(frame, pkt, n int) bool
		wantDone []uint32 // frame numbers completed
	}{
		{"all arrive", func(int, int, int) bool { return false }, []uint32{0, 1, 2, 3}},
		{"first packet of frame 1 lost", func(f, p, _ int) bool { return f == 1 && p == 0 }, []uint32{0, 2, 3}},
		{"middle packet of frame 2 lost", func(f, p, _ int) bool { return f == 2 && p == 1 }, []uint32{0, 1, 3}},
		{"marker of frame 0 lost", func(f, p, n int) bool { return f == 0 && p == n-1 }, []uint32{1, 2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := assembler{vp8: true}
			var got []uint32
			for fi, ps := range vp8Packets(t, frames, 1200) {
				for pi, p := range ps {
					if tc.drop(fi, pi, len(ps)) {
						continue
					}
					if done, _ := a.push(p); done {
						got = append(got, p.Timestamp/3600)
					}
				}
			}
			if !slicesEqual(got, tc.wantDone) {
				t.Errorf("complete frames %v, want %v", got, tc.wantDone)
			}
		})
	}
	t.Run("garbage does not panic", func(t *testing.T) {
		a := assembler{vp8: true}
		for i := range 1000 {
			pl := bytes.Repeat([]byte{byte(i * 37)}, i%7)
			a.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i * 7919), Timestamp: uint32(i / 3), Marker: i%5 == 0}, Payload: pl})
		}
	})
}

func slicesEqual(a, b []uint32) bool {
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

func TestRTCRTTFromReport(t *testing.T) {
	now := time.Unix(1_700_000_000, 500_000_000)
	arrival := ntpMiddle(now)
	lsr := ntpMiddle(now.Add(-300 * time.Millisecond))
	dlsr := uint32(220 * 65536 / 1000) // the receiver held it 220 ms
	tests := []struct {
		name      string
		lsr, dlsr uint32
		want      time.Duration
		ok        bool
	}{
		{"80 ms", lsr, dlsr, 80 * time.Millisecond, true},
		{"no sender report yet", 0, 0, 0, false},
		{"clock nonsense", lsr, 65536 / 2, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := rttFromReport(arrival, tc.lsr, tc.dlsr)
			if ok != tc.ok || (ok && (got-tc.want).Abs() > time.Millisecond) {
				t.Errorf("rtt = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
