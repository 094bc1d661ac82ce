package synthetic

import (
	"fmt"
	"io"
	"strings"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// WriteText prints s as `bidwatch check` shows it: the verdict and its
// reasons, then the figures of the transport, headed by target.
func (s Summary) WriteText(w io.Writer, target string) {
	fmt.Fprintf(w, "--- %s ---\n", target)
	fmt.Fprintf(w, "verdict     %s\n", strings.ToUpper(string(s.Verdict)))
	for _, r := range s.Reasons {
		fmt.Fprintf(w, "            %s\n", r)
	}
	fmt.Fprintf(w, "samples     %d over %.0f s, connected %.0f%% of the time\n", s.Samples, s.DurationMS/1000, s.ConnectedPct)
	if s.Transport == sample.TransportWebRTC {
		writeMedia(w, s)
	} else {
		fmt.Fprintf(w, "connect     %s\n", FormatMS(s.ConnectMS))
		fmt.Fprintf(w, "rtt         p50 %s  p95 %s  max %s\n", FormatMS(s.RTT.P50), FormatMS(s.RTT.P95), FormatMS(s.RTT.Max))
		if s.Lag != nil {
			fmt.Fprintf(w, "lag         p50 %s  p95 %s  max %s\n", FormatMS(s.Lag.P50), FormatMS(s.Lag.P95), FormatMS(s.Lag.Max))
		}
		periodic := ""
		if s.PeriodicEvents != nil {
			periodic = fmt.Sprintf(" (%d periodic)", *s.PeriodicEvents)
		}
		fmt.Fprintf(w, "events      %d received%s, %d missed (%.1f%% lost), largest gap %s\n", s.Messages, periodic, s.MissedSeq, s.LossPct, FormatMS(s.LongestGapMS))
		fmt.Fprintf(w, "stutter     %d episode(s), %s in total\n", s.Stutter.Count, FormatMS(s.Stutter.TotalMS))
	}
	fmt.Fprintf(w, "dropouts    %d, reconnects %d, outage %s\n", s.Dropouts, s.Reconnects, FormatMS(s.OutageMS))
	if s.Error != "" {
		fmt.Fprintf(w, "last error  %s\n", s.Error)
	}
}

// writeMedia prints a WebRTC run: the first connection's split, then video
// and audio each with their own loss, jitter and bitrate.
func writeMedia(w io.Writer, s Summary) {
	first := deref(s.FirstFrameMS)
	if s.SignalingMS+s.ICEMS+s.DTLSMS > 0 {
		fmt.Fprintf(w, "connect     %s = signalling %s + ICE %s + DTLS %s + first frame %s\n",
			FormatMS(s.ConnectMS), FormatMS(s.SignalingMS), FormatMS(s.ICEMS), FormatMS(s.DTLSMS), FormatMS(first))
	} else {
		fmt.Fprintf(w, "connect     %s, first frame %s\n", FormatMS(s.ConnectMS), FormatMS(first))
	}
	if v := s.Video; v != nil || s.Frames > 0 {
		if v == nil {
			v = &KindSummary{}
		}
		fmt.Fprintf(w, "video       %.1f fps, %.0f kbit/s, loss %.2f%% of %d packets, jitter %s\n",
			deref(s.FPS), v.BitrateKbps, v.LossPct, v.Packets, FormatMS(v.JitterMS))
		fmt.Fprintf(w, "frames      %d received, %d rendered, %d dropped, %d keyframes; %d NACK, %d PLI, %d packets retransmitted\n",
			s.FramesReceived, s.Frames, s.FramesDropped, s.KeyFrames, s.NACKCount, s.PLICount, s.Retransmitted)
		fmt.Fprintf(w, "freezes     %d, %s in total\n", s.Stutter.Count, FormatMS(s.Stutter.TotalMS))
	}
	if a := s.Audio; a != nil {
		fmt.Fprintf(w, "audio       %.0f kbit/s, loss %.2f%% of %d packets, jitter %s, concealed %.2f%%\n",
			a.BitrateKbps, a.LossPct, a.Packets, FormatMS(a.JitterMS), deref(s.ConcealedPct))
	}
	fmt.Fprintf(w, "loss        %.2f%% of all packets\n", s.LossPct)
	fmt.Fprintf(w, "rtt         p50 %s  p95 %s  max %s\n", FormatMS(s.RTT.P50), FormatMS(s.RTT.P95), FormatMS(s.RTT.Max))
	if s.Lag != nil {
		fmt.Fprintf(w, "media delay p50 %s  p95 %s  max %s\n", FormatMS(s.Lag.P50), FormatMS(s.Lag.P95), FormatMS(s.Lag.Max))
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// FormatMS formats milliseconds for people: 0, 1.25 ms, 412 ms, 12.3 s.
func FormatMS(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 10000:
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.1f s", v/1000)
}
