package synthetic

import (
	"slices"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// rtcWindows returns n one-second WebRTC windows, connected throughout,
// each changed by f.
func rtcWindows(n int, f func(i int, s *sample.Sample)) []sample.Sample {
	out := make([]sample.Sample, n)
	for i := range out {
		out[i] = sample.Sample{Transport: sample.TransportWebRTC, WindowMS: 1000, Connected: true, ConnectedMS: 1000}
		f(i, &out[i])
	}
	return out
}

func TestSummarizeLossIsSumOverSum(t *testing.T) {
	// A late packet makes a window say −1; the counts still add up.
	samples := rtcWindows(3, func(i int, s *sample.Sample) {
		switch i {
		case 0:
			s.VideoPackets, s.VideoLost = 100, 3
		case 1:
			s.VideoPackets, s.VideoLost = 100, -1
		case 2:
			s.VideoPackets, s.AudioPackets, s.AudioLost = 50, 50, 2
		}
	})
	got := Summarize(samples, DefaultThresholds())
	if want := 100 * 4.0 / 300; got.LossPct != want {
		t.Errorf("loss %v, want Σlost/Σexpected = %v", got.LossPct, want)
	}
	if got.Video == nil || *got.Video != (KindSummary{Packets: 250, Lost: 2, LossPct: 100 * 2.0 / 250}) {
		t.Errorf("video %+v", got.Video)
	}
	if got.Audio == nil || got.Audio.Packets != 50 || got.Audio.Lost != 2 || got.Audio.LossPct != 4 {
		t.Errorf("audio %+v", got.Audio)
	}
}

// TestSummarizeLossUnbiased: 5 % of the packets lost, all in two seconds
// that also carried fewer frames. The summary says 5 %; weighting each
// second's share by its frames, as the summary did before, says much less.
func TestSummarizeLossUnbiased(t *testing.T) {
	samples := rtcWindows(10, func(i int, s *sample.Sample) {
		s.VideoPackets, s.Frames = 250, 25
		if i == 3 || i == 7 {
			s.VideoLost, s.Frames = int64(62+i/7), 10 // 62 + 63 = 125 of 2500
		}
		s.LossPct = 100 * float64(s.VideoLost) / float64(s.VideoPackets)
	})
	got := Summarize(samples, Thresholds{})
	if got.LossPct != 5 {
		t.Errorf("loss %v%%, want 5%%", got.LossPct)
	}
	var weighted, frames float64
	for _, s := range samples {
		weighted += s.LossPct * float64(max(s.Frames, 1))
		frames += float64(s.Frames)
	}
	if before := weighted / frames; before > 2.5 {
		t.Errorf("frame-weighted mean of the windows' shares = %.2f%%; the bias this test shows is gone?", before)
	}
}

func TestSummarizeMedia(t *testing.T) {
	samples := rtcWindows(4, func(i int, s *sample.Sample) {
		s.VideoPackets, s.AudioPackets = 200, 50
		s.VideoJitterMS, s.AudioJitterMS = float64(2+i), 16 // audio's worse: not the room's
		s.VideoKbps, s.AudioKbps = 1000, 32
		s.BitrateKbps = 1032
		s.Frames, s.FramesReceived, s.KeyFrames = 25, 26, 1
		s.AudioSamples = 48000
		s.JitterMS = s.VideoJitterMS
		switch i {
		case 0: // connected 400 ms into the first window
			s.WindowMS, s.ConnectedMS = 1000, 600
			s.Frames, s.FramesReceived = 15, 15
			s.VideoPackets = 100
			s.ConnectMS, s.SignalingMS, s.ICEMS, s.DTLSMS, s.FirstFrameMS = 412, 35, 12, 18, 347
		case 2:
			s.FramesDropped, s.NACKCount, s.PLICount, s.Retransmitted = 1, 3, 1, 2
			s.VideoLost, s.ConcealedSamples = 2, 960
		case 3: // a reconnection's split is not the first connection's
			s.ConnectMS, s.SignalingMS, s.ICEMS, s.DTLSMS, s.FirstFrameMS = 90, 10, 10, 10, 60
		}
	})
	got := Summarize(samples, DefaultThresholds())
	if got.ConnectMS != 412 || got.SignalingMS != 35 || got.ICEMS != 12 || got.DTLSMS != 18 || *got.FirstFrameMS != 347 {
		t.Errorf("connect split %v = %v + %v + %v + %v, want the first connection's", got.ConnectMS, got.SignalingMS, got.ICEMS, got.DTLSMS, *got.FirstFrameMS)
	}
	if want := 90.0 / 3.6; *got.FPS != want {
		t.Errorf("fps %v, want Σframes / Σconnected s = %v", *got.FPS, want)
	}
	// Jitter weighted by packets: (2·100 + 3·200 + 4·200 + 5·200) / 700.
	if want := 2600.0 / 700; got.Video.JitterMS != want || *got.JitterMS != want {
		t.Errorf("video jitter %v, room jitter %v; want %v (video's, not the worse of both)", got.Video.JitterMS, *got.JitterMS, want)
	}
	if got.Audio.JitterMS != 16 || got.Audio.BitrateKbps != 32 || got.Video.BitrateKbps != 1000 || *got.BitrateKbps != 1032 {
		t.Errorf("audio %+v, video %+v, bitrate %v", got.Audio, got.Video, *got.BitrateKbps)
	}
	if got.Frames != 90 || got.FramesReceived != 93 || got.FramesDropped != 1 || got.KeyFrames != 4 ||
		got.NACKCount != 3 || got.PLICount != 1 || got.Retransmitted != 2 {
		t.Errorf("frames %d received %d dropped %d key %d, NACK %d PLI %d retransmitted %d",
			got.Frames, got.FramesReceived, got.FramesDropped, got.KeyFrames, got.NACKCount, got.PLICount, got.Retransmitted)
	}
	if want := 100 * 960.0 / (4 * 48000); got.ConcealedPct == nil || *got.ConcealedPct != want {
		t.Errorf("concealed %v, want %v%%", got.ConcealedPct, want)
	}
	if got.Verdict != VerdictOK {
		t.Errorf("verdict %s %v, want ok", got.Verdict, got.Reasons)
	}
}

func TestSummarizeAudioOnlyJitter(t *testing.T) {
	got := Summarize(rtcWindows(2, func(_ int, s *sample.Sample) {
		s.AudioPackets, s.AudioJitterMS, s.AudioKbps = 50, 16, 32
	}), DefaultThresholds())
	if got.Video != nil || *got.JitterMS != 16 {
		t.Errorf("video %+v, jitter %v; want no video and the audio's 16 ms", got.Video, *got.JitterMS)
	}
}

func TestSummarizeFirstFrameLate(t *testing.T) {
	tests := []struct {
		name         string
		firstFrameMS float64
		late         time.Duration
		want         Verdict
		reasons      []string
	}{
		{"in time", 2900, 3 * time.Second, VerdictOK, nil},
		{"after the next keyframe", 9000, 3 * time.Second, VerdictDegraded,
			[]string{"picture came late: first frame 9.0 s after the connection was up (above 3s)"}},
		{"threshold off", 9000, 0, VerdictOK, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			samples := rtcWindows(12, func(i int, s *sample.Sample) {
				s.VideoPackets, s.Frames = 100, 25
				if i == 0 {
					s.ConnectMS, s.FirstFrameMS = tc.firstFrameMS+50, tc.firstFrameMS
				}
			})
			th := DefaultThresholds()
			th.FirstFrameLate = tc.late
			got := Summarize(samples, th)
			if got.Verdict != tc.want || !slices.Equal(got.Reasons, tc.reasons) {
				t.Errorf("verdict %s %q, want %s %q", got.Verdict, got.Reasons, tc.want, tc.reasons)
			}
		})
	}
}

// TestSummarizeNoPeriodicEvents: a WebSocket stream that never sends a
// periodic event is not a room that is down: the silence since the join is
// not stutter, and the reasons say what to try.
func TestSummarizeNoPeriodicEvents(t *testing.T) {
	ws := func(ticks int, freezeMS float64) []sample.Sample {
		out := make([]sample.Sample, 10)
		for i := range out {
			out[i] = sample.Sample{Transport: sample.TransportWS, WindowMS: 1000, Connected: true, ConnectedMS: 1000,
				RTTCount: 1, RTTMedianMS: 1, RTTMaxMS: 1, FreezeMS: freezeMS, Ticks: ticks}
		}
		out[2].FreezeCount = 1
		out[0].Messages = 1 // the echo of the join message: not periodic
		return out
	}
	t.Run("never a tick", func(t *testing.T) {
		got := Summarize(ws(0, 1000), DefaultThresholds())
		want := []string{"no periodic event arrived in 10 s: this stream may not send one; try --tick 0"}
		if got.Verdict != VerdictOK || !slices.Equal(got.Reasons, want) {
			t.Errorf("verdict %s %q, want ok %q", got.Verdict, got.Reasons, want)
		}
		if got.Stutter != (Episodes{}) || got.PeriodicEvents == nil || *got.PeriodicEvents != 0 {
			t.Errorf("stutter %+v, periodic events %v; want none counted", got.Stutter, got.PeriodicEvents)
		}
	})
	t.Run("ticks, then silence", func(t *testing.T) {
		got := Summarize(ws(1, 900), DefaultThresholds())
		if got.Verdict != VerdictDown || len(got.Reasons) == 0 || got.Stutter.TotalMS != 9000 {
			t.Errorf("verdict %s %q, stutter %+v; want down: a stream that ticked went quiet", got.Verdict, got.Reasons, got.Stutter)
		}
	})
	t.Run("never a tick, pings unanswered", func(t *testing.T) {
		samples := ws(0, 1000)
		for i := range samples {
			samples[i].RTTCount = 0
		}
		samples[3].Dropouts = 1
		got := Summarize(samples, DefaultThresholds())
		if got.Verdict != VerdictDown || got.Stutter.TotalMS != 10000 {
			t.Errorf("verdict %s %q, stutter %+v; want down: a silent hall stops answering pings", got.Verdict, got.Reasons, got.Stutter)
		}
	})
	t.Run("periodic events off", func(t *testing.T) {
		got := Summarize(ws(0, 0), DefaultThresholds())
		if got.Verdict != VerdictOK || got.Reasons != nil {
			t.Errorf("verdict %s %q, want ok without a note (the user said there are none)", got.Verdict, got.Reasons)
		}
	})
}
