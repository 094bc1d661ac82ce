package rtc

import (
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/mediaclip"
)

func TestNTPTime(t *testing.T) {
	tests := []struct {
		ntp  uint64
		want time.Time
	}{
		{uint64(ntpEpochOffset) << 32, time.Unix(0, 0)},
		{uint64(ntpEpochOffset+1_700_000_000)<<32 | 1<<31, time.Unix(1_700_000_000, 500_000_000)},
		{uint64(ntpEpochOffset+1_700_000_000)<<32 | 1<<30, time.Unix(1_700_000_000, 250_000_000)},
	}
	for _, tc := range tests {
		if got := ntpTime(tc.ntp); !got.Equal(tc.want) {
			t.Errorf("ntpTime(%#x) = %v, want %v", tc.ntp, got, tc.want)
		}
	}
}

func TestSenderClockCaptured(t *testing.T) {
	wall := time.Unix(1_700_000_000, 0)
	sr := senderClock{have: true, ssrc: 7, wall: wall, rtp: 4_294_000_000, clockRate: 90000}
	tests := []struct {
		name string
		c    senderClock
		ssrc uint32
		ts   uint32
		want time.Time
		ok   bool
	}{
		{"at the report", sr, 7, 4_294_000_000, wall, true},
		{"a frame later", sr, 7, 4_294_003_600, wall.Add(40 * time.Millisecond), true},
		{"across the wrap", sr, 7, 4_294_000_000 + 90000, wall.Add(time.Second), true},
		{"before the report", sr, 7, 4_294_000_000 - 45000, wall.Add(-500 * time.Millisecond), true},
		{"another stream", sr, 8, 4_294_000_000, time.Time{}, false},
		{"no report yet", senderClock{}, 0, 0, time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.c.captured(tc.ssrc, tc.ts)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Errorf("captured = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestRTCLagFromSenderReports: a server that sends no frame stamp (a pion
// sender of a real clip, 40 ms away on a virtual network) → lag from its RTCP
// sender reports: 40 ms, once the first report has come.
func testRTCLagFromSenderReports(t *testing.T) {
	v := newTiming(t)
	defer v.Done()
	vn := newSimNet(t, 40*time.Millisecond, 0)
	srv := newClipSender(t, clipSenderOptions{Codec: mediaclip.VP8, KeyInterval: 2 * time.Second, SettingEngine: simNetSettings(vn.server)})
	p, err := New(Config{WHEPURL: srv.url, SettingEngine: simNetSettings(vn.client), EchoInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	samples := runFor(t, p, 5500*time.Millisecond, nil)
	var lag []float64
	for _, s := range steadySamples(samples) {
		if s.LagCount > 0 {
			lag = append(lag, s.LagMedianMS)
		}
	}
	if len(lag) < 2 {
		v.Errorf("lag in %d steady windows, want ≥ 2 (samples %+v)", len(lag), samples)
		return
	}
	if l := median(lag); l < 38 || l > 50 {
		v.Errorf("lag %.1f ms (windows %v), want ~40", l, lag)
	}
	t.Logf("lag from sender reports %.1f ms over %d windows", median(lag), len(lag))
}
