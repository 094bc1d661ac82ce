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

// Summary is what a participant suffered over a run, as `bidwatch check`
// prints it. Media fields are set for WebRTC runs only.
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

	FirstFrameMS *float64  `json:"first_frame_ms,omitempty"`
	FPS          *float64  `json:"fps,omitempty"`
	Freezes      *Episodes `json:"freezes,omitempty"`
	JitterMS     *float64  `json:"jitter_ms,omitempty"`
	BitrateKbps  *float64  `json:"bitrate_kbps,omitempty"`
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
		rtt, rttMax, lag, lagMax      []float64
		total, connected              float64
		lossWeighted, frames, jitters float64
		firstFrame                    float64
		jitterN, bitrateN             int
		bitrate                       float64
	)
	for _, x := range samples {
		total += x.WindowMS
		connected += x.ConnectedMS
		if s.ConnectMS == 0 && x.ConnectMS > 0 {
			s.ConnectMS = x.ConnectMS
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
		s.MissedSeq += x.MissedSeq
		s.Dropouts += x.Dropouts
		s.Reconnects += x.Reconnects
		s.OutageMS += x.OutageMS
		s.LongestGapMS = math.Max(s.LongestGapMS, x.LargestGapMS)
		frames += float64(x.Frames)
		if x.Transport == sample.TransportWebRTC {
			// Loss is a share of packets, weighted by the window's frames.
			lossWeighted += x.LossPct * float64(max(x.Frames, 1))
		}
		if x.JitterMS > 0 {
			jitters += x.JitterMS
			jitterN++
		}
		if x.BitrateKbps > 0 {
			bitrate += x.BitrateKbps
			bitrateN++
		}
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
	if s.Transport == sample.TransportWebRTC {
		s.LossPct = lossWeighted / math.Max(frames, float64(len(samples)))
		fps := 0.0
		if connected > 0 {
			fps = frames / (connected / 1000)
		}
		s.FPS = &fps
		s.FirstFrameMS = &firstFrame
		f := s.Stutter
		s.Freezes = &f
		j := 0.0
		if jitterN > 0 {
			j = jitters / float64(jitterN)
		}
		s.JitterMS = &j
		b := 0.0
		if bitrateN > 0 {
			b = bitrate / float64(bitrateN)
		}
		s.BitrateKbps = &b
	} else if exp := s.Messages + s.MissedSeq; exp > 0 {
		s.LossPct = 100 * float64(s.MissedSeq) / float64(exp)
	}
	s.Verdict, s.Reasons = judge(s, th)
	return s
}

// judge applies the thresholds; the reasons say which were crossed.
func judge(s Summary, th Thresholds) (Verdict, []string) {
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
	switch {
	case len(down) > 0:
		return VerdictDown, append(down, degraded...)
	case len(degraded) > 0:
		return VerdictDegraded, degraded
	}
	return VerdictOK, nil
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
