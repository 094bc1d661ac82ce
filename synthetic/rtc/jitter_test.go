package rtc

import (
	"math"
	"testing"
	"time"
)

func TestRTCJitter(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	type pkt struct {
		arrivalMS float64
		ts        uint32
	}
	// audio: 48 kHz, 20 ms = 960 units
	steady := func(n int, ts0 uint32) []pkt {
		var ps []pkt
		for i := range n {
			ps = append(ps, pkt{float64(i) * 20, ts0 + uint32(i)*960})
		}
		return ps
	}
	alternating := func(n int) []pkt {
		var ps []pkt
		for i := range n {
			off := 0.0
			if i%2 == 1 {
				off = 5
			}
			ps = append(ps, pkt{float64(i)*20 + off, uint32(i) * 960})
		}
		return ps
	}
	tests := []struct {
		name  string
		clock uint32
		pkts  []pkt
		want  float64 // ms
		tol   float64
	}{
		{"no packets", 48000, nil, 0, 0},
		{"one packet", 48000, steady(1, 0), 0, 0},
		{"steady spacing", 48000, steady(50, 1000), 0, 1e-6},
		{"timestamp wraps around", 48000, steady(50, math.MaxUint32-960*10), 0, 1e-6},
		// D = 10 ms once: J = 10/16.
		{"one late packet", 48000, []pkt{{0, 0}, {30, 960}}, 10.0 / 16, 1e-6},
		// then on time again: D = -10 ms, J += (10 - J)/16.
		{"late then on time", 48000, []pkt{{0, 0}, {30, 960}, {40, 1920}}, 10.0/16 + (10-10.0/16)/16, 1e-6},
		// |D| = 5 ms every packet: J converges to 5 ms.
		{"alternating 5 ms", 48000, alternating(400), 5, 0.01},
		// Video, 90 kHz: three packets of one frame 1 ms apart, then the
		// next frame 40 ms later: D = 1, 1, then 40-2-40 = -2 → J from 0:
		// 1/16, then +(1-J)/16, then +(38... computed below.
		{"video frame spread", 90000, []pkt{{0, 0}, {1, 0}, {2, 0}, {40, 3600}}, 0, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := newRTPJitter(tc.clock)
			base := time.Unix(1_700_000_000, 0)
			for _, p := range tc.pkts {
				j.update(base.Add(ms(p.arrivalMS)), p.ts)
			}
			got := float64(j.value()) / float64(time.Millisecond)
			want := tc.want
			if tc.tol < 0 { // recompute by the RFC's formula, independently
				want, tc.tol = 0, 1e-6
				for i := 1; i < len(tc.pkts); i++ {
					d := (tc.pkts[i].arrivalMS - tc.pkts[i-1].arrivalMS) -
						float64(int32(tc.pkts[i].ts-tc.pkts[i-1].ts))/float64(tc.clock)*1000
					want += (math.Abs(d) - want) / 16
				}
			}
			if math.Abs(got-want) > tc.tol+1e-6 {
				t.Errorf("jitter = %.6f ms, want %.6f ± %g", got, want, tc.tol)
			}
		})
	}
}
