package rtc

import (
	"encoding/binary"
	"testing"
	"time"
)

var seqT0 = time.Unix(1_700_000_000, 0)

func TestSeqStats(t *testing.T) {
	tests := []struct {
		name    string
		seqs    []uint16
		want    lossCounts
		invalid int
		dups    int
	}{
		{"in order", []uint16{10, 11, 12, 13}, lossCounts{4, 0, 0}, 0, 0},
		{"one lost", []uint16{1, 2, 4, 5}, lossCounts{5, 1, 0}, 0, 0},
		{"wraps around", []uint16{65534, 65535, 0, 1}, lossCounts{4, 0, 0}, 0, 0},
		{"lost across the wrap", []uint16{65533, 65534, 0, 1}, lossCounts{5, 1, 0}, 0, 0},
		{"reordered", []uint16{1, 2, 4, 3, 5}, lossCounts{5, 0, 0}, 0, 0},
		{"reordered across the wrap", []uint16{65534, 65535, 1, 0, 2}, lossCounts{5, 0, 0}, 0, 0},
		{"duplicate counts once", []uint16{1, 2, 2, 3}, lossCounts{3, 0, 0}, 0, 1},
		{"duplicate of a late packet", []uint16{1, 2, 4, 3, 3, 5}, lossCounts{5, 0, 0}, 0, 1},
		// A late packet from before the first one that arrived was sent
		// too: it lowers the base, and any number between is lost.
		{"late packet from before", []uint16{100, 101, 99, 102}, lossCounts{4, 0, 0}, 0, 0},
		{"late packet from before, one between lost", []uint16{100, 101, 98, 102}, lossCounts{5, 1, 0}, 0, 0},
		{"late packet from before a start at 0", []uint16{0, 1, 65535, 2}, lossCounts{4, 0, 0}, 0, 0},
		// RFC 3550 A.1: more than MAX_MISORDER behind is not this stream.
		{"too late", []uint16{500, 501, 502, 350, 503}, lossCounts{4, 0, 0}, 1, 0},
		// A big jump is a restart only when confirmed by the next packet;
		// both count then, though the first was judged invalid when it came.
		{"sender restarted numbering", []uint16{1, 2, 40000, 40001, 40002}, lossCounts{5, 0, 0}, 1, 0},
		{"restart after a loss", []uint16{1, 2, 4, 40000, 40001, 40003}, lossCounts{4 + 4, 1 + 1, 0}, 1, 0},
		{"one stray packet", []uint16{1, 2, 40000, 3, 4}, lossCounts{4, 0, 0}, 1, 0},
		// Probation: the first packet counts only once the second follows it.
		{"probation", []uint16{7, 100, 101, 102}, lossCounts{3, 0, 0}, 1, 0},
		{"never two in sequence", []uint16{5, 900, 31000, 7, 60000}, lossCounts{}, 4, 0},
		{"nothing", nil, lossCounts{}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s seqStats
			invalid, dups := 0, 0
			for _, q := range tc.seqs {
				switch _, v := s.push(q, seqT0); v {
				case seqInvalid:
					invalid++
				case seqDuplicate:
					dups++
				}
			}
			got := s.take()
			if got != tc.want || invalid != tc.invalid || dups != tc.dups {
				t.Errorf("counts %+v, invalid %d, duplicates %d; want %+v, %d, %d", got, invalid, dups, tc.want, tc.invalid, tc.dups)
			}
			if s.total() != got {
				t.Errorf("total %+v, want the one window's %+v", s.total(), got)
			}
			if next := s.take(); next != (lossCounts{}) {
				t.Errorf("next window %+v, want nothing", next)
			}
		})
	}
}

func TestSeqStatsExtended(t *testing.T) {
	type step struct {
		seq  uint16
		ext  int64
		want seqVerdict
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"probation then the wrap", []step{
			{65535, 0, seqProbation}, {0, 65536, seqStarted}, {1, 65537, seqValid}, {0, 65536, seqDuplicate},
		}},
		{"late across the wrap", []step{
			{65533, 0, seqProbation}, {65534, 65534, seqStarted}, {1, 65537, seqValid}, {65535, 65535, seqValid}, {0, 65536, seqValid},
		}},
		// After a restart the extended number keeps growing, so a frame
		// buffer keyed by it never goes back.
		{"restart grows on", []step{
			{30000, 0, seqProbation}, {30001, 30001, seqStarted}, {5, 0, seqInvalid}, {6, 65536 + 6, seqStarted}, {7, 65536 + 7, seqValid},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s seqStats
			for i, st := range tc.steps {
				ext, v := s.push(st.seq, seqT0)
				if v != st.want || (v != seqProbation && v != seqInvalid && ext != st.ext) {
					t.Errorf("step %d: seq %d → ext %d, verdict %d; want %d, %d", i, st.seq, ext, v, st.ext, st.want)
				}
			}
		})
	}
}

// TestSeqStatsWindows checks the per-window counts: a packet late across a
// window boundary makes the first window lose one and the next −1; a
// retransmission (after its NACK) is lost and retransmitted, never received.
func TestSeqStatsWindows(t *testing.T) {
	type op struct {
		push []uint16
		nack []uint16
		take *lossCounts // the window that ends here
	}
	w := func(e, l, r int64) *lossCounts { return &lossCounts{e, l, r} }
	tests := []struct {
		name  string
		ops   []op
		total lossCounts
	}{
		{"reorder across a window boundary", []op{
			{push: []uint16{1, 2, 4}, take: w(4, 1, 0)},
			{push: []uint16{3, 5}, take: w(1, -1, 0)},
		}, lossCounts{5, 0, 0}},
		{"retransmission after a NACK", []op{
			{push: []uint16{1, 2, 4}, nack: []uint16{3}},
			{push: []uint16{3, 5}, take: w(5, 1, 1)},
		}, lossCounts{5, 1, 1}},
		{"retransmission in the next window", []op{
			{push: []uint16{1, 2, 4, 5}, nack: []uint16{3}, take: w(5, 1, 0)},
			{push: []uint16{3, 6}, take: w(1, 0, 1)},
		}, lossCounts{6, 1, 1}},
		{"duplicate of a retransmission", []op{
			{push: []uint16{1, 2, 4}, nack: []uint16{3}},
			{push: []uint16{3, 3, 5, 3}, take: w(5, 1, 1)},
		}, lossCounts{5, 1, 1}},
		{"NACK of a packet already received is ignored", []op{
			{push: []uint16{1, 2, 4, 3}, nack: []uint16{3, 4, 5}},
			{push: []uint16{5}, take: w(5, 0, 0)},
		}, lossCounts{5, 0, 0}},
		{"NACK never answered", []op{
			{push: []uint16{1, 2, 4}, nack: []uint16{3}},
			{nack: []uint16{3}},
			{push: []uint16{5}, take: w(5, 1, 0)},
		}, lossCounts{5, 1, 0}},
		{"NACK across the wrap", []op{
			{push: []uint16{65534, 65535, 1}, nack: []uint16{0}},
			{push: []uint16{0}, take: w(4, 1, 1)},
		}, lossCounts{4, 1, 1}},
		{"restart across windows", []op{
			{push: []uint16{1, 2, 3}, take: w(3, 0, 0)},
			{push: []uint16{30000, 30001, 30003}, take: w(4, 1, 0)},
		}, lossCounts{7, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s seqStats
			var sum lossCounts
			for i, o := range tc.ops {
				for _, q := range o.push {
					s.push(q, seqT0)
				}
				if o.nack != nil {
					s.nacked(o.nack, seqT0)
				}
				if o.take != nil {
					got := s.take()
					sum = sum.plus(got)
					if got != *o.take {
						t.Errorf("window %d: %+v, want %+v", i, got, *o.take)
					}
				}
			}
			sum = sum.plus(s.take())
			if tot := s.total(); tot != tc.total || sum != tc.total {
				t.Errorf("total %+v, sum of windows %+v; want %+v", tot, sum, tc.total)
			}
		})
	}
	t.Run("windows add up past a wrap", func(t *testing.T) {
		var s seqStats
		var sum lossCounts
		for i := range 70000 { // 1 in 20 lost; every 50th pair swapped
			q := i
			switch i % 50 {
			case 10:
				q = i + 1
			case 11:
				q = i - 1
			}
			if q%20 != 7 {
				s.push(uint16(q+60000), seqT0)
			}
			if i%1000 == 999 {
				sum = sum.plus(s.take())
			}
		}
		sum = sum.plus(s.take())
		if want := (lossCounts{70000, 3500, 0}); sum != want || s.total() != want {
			t.Errorf("sum of windows %+v, total %+v; want %+v", sum, s.total(), want)
		}
	})
}

// FuzzSeqStats feeds arbitrary sequences of packets, NACKs and window ends.
// Whatever comes, the counts stay sane: nothing expected is negative, the
// packets received (expected − lost) never exceed the distinct packets the
// tracker accepted, retransmissions are part of the lost, and the windows
// add up to the total.
func FuzzSeqStats(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 0, 2, 0, 0, 4, 6, 0, 3, 0, 0, 3, 7})
	f.Add([]byte{5, 0xff, 0xfe, 0, 0, 1, 0, 0, 3, 7, 0, 0, 2, 0, 0, 2})
	f.Add([]byte{0, 0, 1, 0, 0, 1, 5, 0x9c, 0x40, 5, 0x9c, 0x41, 7, 0, 0xff, 0xfe})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s seqStats
		var sum lossCounts
		var last uint16
		accepted := map[int64]bool{}
		for len(data) >= 3 {
			op, arg := data[0]%8, binary.BigEndian.Uint16(data[1:3])
			data = data[3:]
			switch op {
			case 6:
				s.nacked([]uint16{arg, last - arg%8}, seqT0)
			case 7:
				sum = sum.plus(s.take())
			default:
				q := arg // absolute, or near the last one
				if op < 5 {
					q = last + uint16(int16(int8(arg)))
				}
				last = q
				switch ext, v := s.push(q, seqT0); v {
				case seqStarted:
					accepted[ext-1] = true
					fallthrough
				case seqValid:
					accepted[ext] = true
				}
			}
			tot := s.total()
			received := tot.expected - tot.lost
			if tot.expected < 0 || tot.lost < tot.retransmitted || tot.retransmitted < 0 {
				t.Fatalf("total %+v", tot)
			}
			if received > int64(len(accepted)) {
				t.Fatalf("received %d of %d distinct packets accepted (total %+v)", received, len(accepted), tot)
			}
		}
		sum = sum.plus(s.take())
		if sum != s.total() {
			t.Fatalf("windows add up to %+v, total %+v", sum, s.total())
		}
	})
}

// TestSeqStatsNackedDuringProbation: the stream's second packet is lost, so
// probation starts over and the stream counts from the third; the NACK for
// the second went out before the stream was valid. Its retransmission is
// from before the first packet that counted: it lowers the base and counts as
// lost in transit and retransmitted, not as received.
func TestSeqStatsNackedDuringProbation(t *testing.T) {
	var s seqStats
	s.push(10, seqT0) // probation
	s.push(12, seqT0) // 11 lost: 10 had no successor
	s.nacked([]uint16{11}, seqT0)
	s.push(13, seqT0) // valid from 12
	if _, v := s.push(11, seqT0); v != seqValid {
		t.Fatalf("retransmission of 11: verdict %d", v)
	}
	s.push(14, seqT0)
	if got, want := s.total(), (lossCounts{expected: 4, lost: 1, retransmitted: 1}); got != want {
		t.Errorf("total %+v, want %+v", got, want)
	}

	// The same once the stream is valid: a NACK for a number before the
	// base marks it too.
	var u seqStats
	u.push(100, seqT0)
	u.push(101, seqT0)
	u.nacked([]uint16{99}, seqT0)
	u.push(99, seqT0)
	if got, want := u.total(), (lossCounts{expected: 3, lost: 1, retransmitted: 1}); got != want {
		t.Errorf("NACKed before the base: total %+v, want %+v", got, want)
	}
}
