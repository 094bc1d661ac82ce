package synthetic

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// Verdict is the one-word answer to "can a bidder use this room?".
type Verdict string

// Verdicts, from best to worst.
const (
	VerdictOK       Verdict = "ok"
	VerdictDegraded Verdict = "degraded"
	VerdictDown     Verdict = "down"
)

// Thresholds turn measures into a verdict. DefaultThresholds holds the
// defaults of DESIGN.md.
type Thresholds struct {
	RTTDegraded      time.Duration // RTT p95 above this: degraded
	RTTCritical      time.Duration // RTT p95 above this: down
	StutterPct       float64       // stutter or freeze time above this share: degraded
	LagDegraded      time.Duration // lag p95 above this: degraded
	LossPct          float64       // lost events or packets above this share: degraded
	DownConnectedPct float64       // connected less than this share of the time: down
	FirstFrameLate   time.Duration // first rendered frame later than this after DTLS: degraded
}

// DefaultThresholds are DESIGN.md's defaults.
func DefaultThresholds() Thresholds {
	return Thresholds{
		RTTDegraded:      300 * time.Millisecond,
		RTTCritical:      time.Second,
		StutterPct:       5,
		LagDegraded:      time.Second,
		LossPct:          1,
		DownConnectedPct: 50,
		FirstFrameLate:   3 * time.Second,
	}
}

// Dist is a distribution's p50, p95 and maximum in milliseconds.
type Dist struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

// Episodes counts stutter or freeze episodes and their total time.
type Episodes struct {
	Count   int     `json:"count"`
	TotalMS float64 `json:"total_ms"`
}

// KindSummary is one kind of media (video or audio) over a run: packets
// expected and lost in transit, summed over the windows, so LossPct is
// Lost / Packets and not an average of the windows' shares; jitter is the
// windows' RFC 3550 jitter weighted by their packets; bitrate the bits
// received over the run's time.
type KindSummary struct {
	Packets     int64   `json:"packets"`
	Lost        int64   `json:"lost"`
	LossPct     float64 `json:"loss_pct"`
	JitterMS    float64 `json:"jitter_ms"`
	BitrateKbps float64 `json:"bitrate_kbps"`
}

// Summary is what a participant suffered over a run, as `bidwatch check`
// prints it. Media fields are set for WebRTC runs only; every rate is a sum
// over the run divided by a sum (packets lost by packets expected, frames by
// connected time, bits by time), never an average of per-window ratios.
type Summary struct {
	Verdict      Verdict          `json:"verdict"`
	Reasons      []string         `json:"reasons,omitempty"`
	Transport    sample.Transport `json:"transport"`
	Samples      int              `json:"samples"`
	DurationMS   float64          `json:"duration_ms"`
	ConnectMS    float64          `json:"connect_ms"`
	ConnectedPct float64          `json:"connected_pct"`
	RTT          Dist             `json:"rtt_ms"`
	Lag          *Dist            `json:"lag_ms,omitempty"`
	Stutter      Episodes         `json:"stutter"`
	Messages     int              `json:"messages"`
	MissedSeq    int              `json:"missed_seq"`
	LossPct      float64          `json:"loss_pct"`
	Dropouts     int              `json:"dropouts"`
	Reconnects   int              `json:"reconnects"`
	OutageMS     float64          `json:"outage_ms"`
	LongestGapMS float64          `json:"largest_gap_ms"`
	Error        string           `json:"error"`

	// PeriodicEvents (WebSocket) counts the periodic events received: the
	// ones stutter is measured on.
	PeriodicEvents *int `json:"periodic_events,omitempty"`

	// The first connection's phases (WebRTC): ConnectMS is their sum.
	SignalingMS  float64  `json:"signaling_ms,omitempty"`
	ICEMS        float64  `json:"ice_ms,omitempty"`
	DTLSMS       float64  `json:"dtls_ms,omitempty"`
	FirstFrameMS *float64 `json:"first_frame_ms,omitempty"`

	FPS         *float64  `json:"fps,omitempty"`
	Freezes     *Episodes `json:"freezes,omitempty"`
	JitterMS    *float64  `json:"jitter_ms,omitempty"` // video's, or audio's without video
	BitrateKbps *float64  `json:"bitrate_kbps,omitempty"`

	Video          *KindSummary `json:"video,omitempty"`
	Audio          *KindSummary `json:"audio,omitempty"`
	Retransmitted  int64        `json:"retransmitted,omitempty"`
	Frames         int          `json:"frames,omitempty"` // rendered
	FramesReceived int          `json:"frames_received,omitempty"`
	FramesDropped  int          `json:"frames_dropped,omitempty"`
	KeyFrames      int          `json:"key_frames,omitempty"`
	NACKCount      int          `json:"nack_count,omitempty"`
	PLICount       int          `json:"pli_count,omitempty"`
	ConcealedPct   *float64     `json:"concealed_pct,omitempty"`
}

// Summarize aggregates a participant's samples and judges them.
func Summarize(samples []sample.Sample, th Thresholds) Summary {
	var s Summary
	s.Samples = len(samples)
	if len(samples) == 0 {
		s.Verdict = VerdictDown
		s.Reasons = []string{"no measurement completed"}
		return s
	}
	s.Transport = samples[0].Transport
	var (
		rtt, rttMax, lag, lagMax []float64
		total, connected         float64
		firstFrame               float64
		ticks                    int
		m                        mediaSums
	)
	for _, x := range samples {
		total += x.WindowMS
		connected += x.ConnectedMS
		if s.ConnectMS == 0 && x.ConnectMS > 0 {
			s.ConnectMS = x.ConnectMS
			s.SignalingMS, s.ICEMS, s.DTLSMS = x.SignalingMS, x.ICEMS, x.DTLSMS
			firstFrame = x.FirstFrameMS
		}
		if x.RTTCount > 0 {
			rtt = append(rtt, x.RTTMedianMS)
			rttMax = append(rttMax, x.RTTMaxMS)
		}
		if x.LagCount > 0 {
			lag = append(lag, x.LagMedianMS)
			lagMax = append(lagMax, x.LagMaxMS)
		}
		s.Stutter.Count += x.FreezeCount
		s.Stutter.TotalMS += x.FreezeMS
		s.Messages += x.Messages
		ticks += x.Ticks
		s.MissedSeq += x.MissedSeq
		s.Dropouts += x.Dropouts
		s.Reconnects += x.Reconnects
		s.OutageMS += x.OutageMS
		s.LongestGapMS = math.Max(s.LongestGapMS, x.LargestGapMS)
		m.add(x)
		if x.Error != "" {
			s.Error = x.Error
		}
	}
	s.DurationMS = total
	if total > 0 {
		s.ConnectedPct = 100 * connected / total
	}
	s.RTT = dist(rtt, rttMax)
	if len(lag) > 0 {
		d := dist(lag, lagMax)
		s.Lag = &d
	}
	var notes []string
	if s.Transport == sample.TransportWebRTC {
		m.fill(&s, total, connected)
		s.FirstFrameMS = &firstFrame
		f := s.Stutter
		s.Freezes = &f
	} else {
		s.PeriodicEvents = &ticks
		if exp := s.Messages + s.MissedSeq; exp > 0 {
			s.LossPct = 100 * float64(s.MissedSeq) / float64(exp)
		}
		if ticks == 0 && s.Stutter.TotalMS > 0 && len(rtt) > 0 && s.Dropouts == 0 {
			// Silence from the join on, never broken, on a connection
			// that answered its pings throughout: most likely a stream
			// that sends no periodic events at all, not a stall (a hall
			// gone silent stops answering pings too, and drops out). Do
			// not count the silence; say so.
			notes = append(notes, fmt.Sprintf("no periodic event arrived in %.0f s: this stream may not send one; try --tick 0", connected/1000))
			s.Stutter = Episodes{}
		}
	}
	s.Verdict, s.Reasons = judge(s, th, notes)
	return s
}

// judge applies the thresholds; the reasons say which were crossed, then
// the notes (things worth knowing that do not change the verdict).
func judge(s Summary, th Thresholds, notes []string) (Verdict, []string) {
	var down, degraded []string
	if s.ConnectedPct == 0 {
		msg := "never connected"
		if s.Error != "" {
			msg += ": " + s.Error
		}
		return VerdictDown, []string{msg}
	}
	// Live is connected and receiving: a connection that carries nothing
	// (silent death, a stall) is no use to a bidder.
	live := s.ConnectedPct
	if s.DurationMS > 0 {
		live -= 100 * s.Stutter.TotalMS / s.DurationMS
	}
	switch {
	case s.ConnectedPct < th.DownConnectedPct:
		down = append(down, fmt.Sprintf("connected only %.0f%% of the time (below %.0f%%)", s.ConnectedPct, th.DownConnectedPct))
	case live < th.DownConnectedPct:
		down = append(down, fmt.Sprintf("connected but receiving only %.0f%% of the time (below %.0f%%)", max(live, 0), th.DownConnectedPct))
	}
	if th.RTTCritical > 0 && s.RTT.P95 > MS(th.RTTCritical) {
		down = append(down, fmt.Sprintf("RTT p95 %.0f ms above critical %v", s.RTT.P95, th.RTTCritical))
	} else if th.RTTDegraded > 0 && s.RTT.P95 > MS(th.RTTDegraded) {
		degraded = append(degraded, fmt.Sprintf("RTT p95 %.0f ms above %v", s.RTT.P95, th.RTTDegraded))
	}
	if s.Dropouts > 0 {
		degraded = append(degraded, fmt.Sprintf("%d dropout(s)", s.Dropouts))
	}
	if s.DurationMS > 0 && th.StutterPct > 0 {
		if pct := 100 * s.Stutter.TotalMS / s.DurationMS; pct > th.StutterPct {
			what := "stutter"
			if s.Transport == sample.TransportWebRTC {
				what = "video frozen"
			}
			degraded = append(degraded, fmt.Sprintf("%s %.1f%% of the time (above %g%%)", what, pct, th.StutterPct))
		}
	}
	if s.Lag != nil && th.LagDegraded > 0 && s.Lag.P95 > MS(th.LagDegraded) {
		degraded = append(degraded, fmt.Sprintf("lag p95 %.0f ms above %v", s.Lag.P95, th.LagDegraded))
	}
	if th.LossPct > 0 && s.LossPct > th.LossPct {
		degraded = append(degraded, fmt.Sprintf("loss %.1f%% above %g%%", s.LossPct, th.LossPct))
	}
	if s.FirstFrameMS != nil && th.FirstFrameLate > 0 && *s.FirstFrameMS > MS(th.FirstFrameLate) {
		degraded = append(degraded, fmt.Sprintf("picture came late: first frame %.1f s after the connection was up (above %v)",
			*s.FirstFrameMS/1000, th.FirstFrameLate))
	}
	switch {
	case len(down) > 0:
		return VerdictDown, append(append(down, degraded...), notes...)
	case len(degraded) > 0:
		return VerdictDegraded, append(degraded, notes...)
	}
	return VerdictOK, notes
}

// dist is p50 and p95 of the per-window medians and the largest window max.
func dist(medians, maxes []float64) Dist {
	if len(medians) == 0 {
		return Dist{}
	}
	slices.Sort(medians)
	return Dist{P50: percentile(medians, 50), P95: percentile(medians, 95), Max: slices.Max(maxes)}
}

// percentile of sorted xs by linear interpolation between closest ranks.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	rank := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	return sorted[lo] + (sorted[hi]-sorted[lo])*(rank-float64(lo))
}

// mediaSums adds up a WebRTC run's per-window media counts. Rates come from
// the sums at the end, so a window weighs what it carried: a lossy second
// with few frames counts as much as its packets, not less.
type mediaSums struct {
	video, audio              kindSums
	bitsMS                    float64 // Σ combined kbps × window ms
	frames, received, dropped int
	keyFrames, nacks, plis    int
	retransmitted             int64
	concealed, audioSamples   int64
}

// kindSums are one kind's sums.
type kindSums struct {
	packets, lost int64
	jitterPackets float64 // Σ jitter ms × packets
	bitsMS        float64 // Σ kbps × window ms
	seen          bool
}

func (m *mediaSums) add(x sample.Sample) {
	m.video.add(x.VideoPackets, x.VideoLost, x.VideoJitterMS, x.VideoKbps, x.WindowMS)
	m.audio.add(x.AudioPackets, x.AudioLost, x.AudioJitterMS, x.AudioKbps, x.WindowMS)
	m.bitsMS += x.BitrateKbps * x.WindowMS
	m.frames += x.Frames
	m.received += x.FramesReceived
	m.dropped += x.FramesDropped
	m.keyFrames += x.KeyFrames
	m.nacks += x.NACKCount
	m.plis += x.PLICount
	m.retransmitted += x.Retransmitted
	m.concealed += x.ConcealedSamples
	m.audioSamples += x.AudioSamples
}

func (k *kindSums) add(packets, lost int64, jitterMS, kbps, windowMS float64) {
	k.packets += packets
	k.lost += lost
	k.jitterPackets += jitterMS * float64(packets)
	k.bitsMS += kbps * windowMS
	k.seen = k.seen || packets > 0 || kbps > 0
}

// summary is the kind's figures over totalMS, nil if it never came.
func (k *kindSums) summary(totalMS float64) *KindSummary {
	if !k.seen {
		return nil
	}
	ks := &KindSummary{Packets: k.packets, Lost: k.lost}
	if k.packets > 0 {
		ks.LossPct = math.Max(0, 100*float64(k.lost)/float64(k.packets))
		ks.JitterMS = k.jitterPackets / float64(k.packets)
	}
	if totalMS > 0 {
		ks.BitrateKbps = k.bitsMS / totalMS
	}
	return ks
}

// fill sets the Summary's media figures; totalMS is the run's measured
// time, connectedMS the part of it connected.
func (m *mediaSums) fill(s *Summary, totalMS, connectedMS float64) {
	s.Video, s.Audio = m.video.summary(totalMS), m.audio.summary(totalMS)
	if packets := m.video.packets + m.audio.packets; packets > 0 {
		s.LossPct = math.Max(0, 100*float64(m.video.lost+m.audio.lost)/float64(packets))
	}
	jitter := 0.0
	switch {
	case s.Video != nil:
		jitter = s.Video.JitterMS
	case s.Audio != nil:
		jitter = s.Audio.JitterMS
	}
	s.JitterMS = &jitter
	bitrate := 0.0
	if totalMS > 0 {
		bitrate = m.bitsMS / totalMS
	}
	s.BitrateKbps = &bitrate
	fps := 0.0
	if connectedMS > 0 {
		fps = float64(m.frames) / (connectedMS / 1000)
	}
	s.FPS = &fps
	s.Frames, s.FramesReceived, s.FramesDropped, s.KeyFrames = m.frames, m.received, m.dropped, m.keyFrames
	s.NACKCount, s.PLICount, s.Retransmitted = m.nacks, m.plis, m.retransmitted
	if m.audioSamples > 0 {
		c := math.Max(0, 100*float64(m.concealed)/float64(m.audioSamples))
		s.ConcealedPct = &c
	}
}
