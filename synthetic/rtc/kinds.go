package rtc

import (
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic"
)

// kindWindow is what one kind of media (video or audio) brought in one
// window: its packet counts, bytes, jitter at the window's end, and whether
// any of its packets arrived (jitter is only reported then).
type kindWindow struct {
	loss   lossCounts
	bytes  int64
	jitter time.Duration
	active bool
}

// fillMedia sets a Sample's per-kind media fields and the combined ones
// from them, for a window of secs seconds: packets, lost and retransmitted
// as counted (a window's lost can be −1); loss_pct as lost over expected of
// both kinds (0 when negative); jitter_ms the video stream's when the
// connection has video, else the audio stream's; bitrate their sum.
func fillMedia(s *sample.Sample, video, audio kindWindow, hasVideo bool, secs float64) {
	s.VideoPackets, s.VideoLost = video.loss.expected, video.loss.lost
	s.AudioPackets, s.AudioLost = audio.loss.expected, audio.loss.lost
	s.Retransmitted = video.loss.retransmitted + audio.loss.retransmitted
	if video.active {
		s.VideoJitterMS = synthetic.MS(video.jitter)
	}
	if audio.active {
		s.AudioJitterMS = synthetic.MS(audio.jitter)
	}
	s.JitterMS = s.AudioJitterMS
	if hasVideo {
		s.JitterMS = s.VideoJitterMS
	}
	if secs > 0 {
		s.VideoKbps = float64(video.bytes) * 8 / 1000 / secs
		s.AudioKbps = float64(audio.bytes) * 8 / 1000 / secs
		s.BitrateKbps = s.VideoKbps + s.AudioKbps
	}
	s.LossPct = 0
	if exp, lost := s.VideoPackets+s.AudioPackets, s.VideoLost+s.AudioLost; exp > 0 && lost > 0 {
		s.LossPct = 100 * float64(lost) / float64(exp)
	}
}

// fillAudio sets a Sample's audio concealment counts (opusConcealment.add).
func fillAudio(s *sample.Sample, concealed, total int64) {
	s.ConcealedSamples, s.AudioSamples = concealed, total
}

// fillVideo sets a Sample's webrtc-stats video counts for a window: fc is
// the frame buffer's counts over the window (the difference of two
// counts()), nacks and plis the NACK and PLI packets sent in it. Frames and
// FPS (rendered frames) are the meter's.
func fillVideo(s *sample.Sample, fc frameCounts, nacks, plis int) {
	s.FramesReceived, s.FramesDropped, s.KeyFrames = fc.received, fc.dropped, fc.keyRendered
	s.NACKCount, s.PLICount = nacks, plis
}
