package rtc

import (
	"testing"
	"time"
)

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
