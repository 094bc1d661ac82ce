package rtc

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic"
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

func TestFillVideo(t *testing.T) {
	var s sample.Sample
	fillVideo(&s, frameCounts{received: 25, rendered: 22, dropped: 3, keyRendered: 1}, 4, 1)
	want := sample.Sample{FramesReceived: 25, FramesDropped: 3, KeyFrames: 1, NACKCount: 4, PLICount: 1}
	if s != want {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
}

// TestLossChain runs the whole accounting chain on made-up traffic: packets
// through seqStats, each window's counts through fillMedia into a Sample,
// the Samples through synthetic.Summarize. The summary's loss is exactly
// the share the sender dropped, however the loss is spread, with packets
// reordered across window boundaries and duplicated.
func TestLossChain(t *testing.T) {
	const perWindow, windows = 250, 10
	tests := []struct {
		name string
		drop func(i int, rnd *rand.Rand) bool // packet i of the run
		// frames rendered in window w: fewer where packets were lost
		frames func(lost int64) int
		// a window without drops says −1 for the late packet it received
		wantNegative bool
	}{
		// 5 %, all of it in two seconds, which carried fewer frames.
		{"5 % in two windows", func(i int, _ *rand.Rand) bool {
			w, k := i/perWindow, i%perWindow
			return (w == 3 && k%4 == 1 && k < 248) || (w == 7 && k%4 == 1 && k < 252)
		}, func(lost int64) int { return 25 - min(int(lost)/4, 15) }, true},
		{"10 % at random", func(i int, rnd *rand.Rand) bool { return rnd.IntN(10) == 0 },
			func(lost int64) int { return 25 - min(int(lost)/4, 15) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(1, 2))
			// What the sender put on the wire, in the order it arrives:
			// every window's last but one packet arrives in the next window
			// (so a clean window says −1), and every 100th packet twice.
			var arrivals [windows][]uint16
			sent, dropped := 0, 0
			for i := range perWindow * windows {
				sent++
				if i != perWindow*windows-1 && tc.drop(i, rnd) {
					dropped++
					continue
				}
				seq, w := uint16(65000+i), i/perWindow
				if i%perWindow == perWindow-2 && w+1 < windows {
					w++
				}
				arrivals[w] = append(arrivals[w], seq)
				if i%100 == 50 {
					arrivals[w] = append(arrivals[w], seq)
				}
			}
			var st seqStats
			var samples []sample.Sample
			negative := false
			for w := range windows {
				for _, seq := range arrivals[w] {
					st.push(seq, seqT0)
				}
				lc := st.take()
				negative = negative || lc.lost < 0
				s := sample.Sample{Transport: sample.TransportWebRTC, WindowMS: 1000, Connected: true, ConnectedMS: 1000}
				fillMedia(&s, kindWindow{loss: lc, bytes: int64(len(arrivals[w])) * 1200, active: true}, kindWindow{}, true, 1)
				s.Frames = tc.frames(max(lc.lost, 0))
				samples = append(samples, s)
			}
			sum := synthetic.Summarize(samples, synthetic.DefaultThresholds())
			truth := 100 * float64(dropped) / float64(sent)
			if math.Abs(sum.LossPct-truth) > 1e-9 || sum.Video == nil || sum.Video.Lost != int64(dropped) || sum.Video.Packets != int64(sent) {
				t.Errorf("summary loss %.4f%% (%+v), want the %.4f%% dropped (%d of %d)", sum.LossPct, sum.Video, truth, dropped, sent)
			}
			// What the summary did before: each window's share weighted by
			// its frames. Concentrated loss in thin windows reads low.
			var weighted, frames float64
			for _, s := range samples {
				weighted += s.LossPct * float64(max(s.Frames, 1))
				frames += float64(s.Frames)
			}
			t.Logf("dropped %.2f%%; summary %.2f%%; frame-weighted windows (before) %.2f%%",
				truth, sum.LossPct, weighted/frames)
			if negative != tc.wantNegative {
				t.Errorf("a window said −1: %v, want %v", negative, tc.wantNegative)
			}
		})
	}
}
