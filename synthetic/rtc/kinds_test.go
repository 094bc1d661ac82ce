package rtc

import (
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

func TestFillMedia(t *testing.T) {
	video := kindWindow{loss: lossCounts{expected: 180, lost: 9, retransmitted: 4}, bytes: 150_000, jitter: 3 * time.Millisecond, active: true}
	audio := kindWindow{loss: lossCounts{expected: 50, lost: 1}, bytes: 4_000, jitter: 16 * time.Millisecond, active: true}
	tests := []struct {
		name         string
		video, audio kindWindow
		hasVideo     bool
		secs         float64
		want         sample.Sample
	}{
		{"video and audio", video, audio, true, 1, sample.Sample{
			VideoPackets: 180, VideoLost: 9, AudioPackets: 50, AudioLost: 1, Retransmitted: 4,
			VideoJitterMS: 3, AudioJitterMS: 16, JitterMS: 3,
			VideoKbps: 1200, AudioKbps: 32, BitrateKbps: 1232,
			LossPct: 100 * 10.0 / 230,
		}},
		// The jitter of the room is its video's, not the worse of both.
		{"video quiet this window", kindWindow{}, audio, true, 0.5, sample.Sample{
			AudioPackets: 50, AudioLost: 1, AudioJitterMS: 16,
			AudioKbps: 64, BitrateKbps: 64, LossPct: 2,
		}},
		{"audio only", kindWindow{}, audio, false, 1, sample.Sample{
			AudioPackets: 50, AudioLost: 1, AudioJitterMS: 16, JitterMS: 16,
			AudioKbps: 32, BitrateKbps: 32, LossPct: 2,
		}},
		// A late packet of the window before: −1 lost, loss 0, not negative.
		{"a late packet makes −1", kindWindow{loss: lossCounts{expected: 100, lost: -1}, active: true}, kindWindow{}, true, 1, sample.Sample{
			VideoPackets: 100, VideoLost: -1,
		}},
		{"no time measured", video, kindWindow{}, true, 0, sample.Sample{
			VideoPackets: 180, VideoLost: 9, Retransmitted: 4, VideoJitterMS: 3, JitterMS: 3, LossPct: 5,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sample.Sample{LossPct: 99, BitrateKbps: 0}
			fillMedia(&s, tc.video, tc.audio, tc.hasVideo, tc.secs)
			if s != tc.want {
				t.Errorf("got  %+v\nwant %+v", s, tc.want)
			}
		})
	}
}

func TestFillAudio(t *testing.T) {
	var c opusConcealment
	c.packet([]byte{15 << 3}) // hybrid FB, 20 ms
	var s sample.Sample
	concealed, total := c.add(lossCounts{expected: 50, lost: 2})
	fillAudio(&s, concealed, total)
	if s.ConcealedSamples != 1920 || s.AudioSamples != 48000 {
		t.Errorf("concealed %d of %d, want 1920 of 48000", s.ConcealedSamples, s.AudioSamples)
	}
}
