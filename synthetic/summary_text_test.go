package synthetic

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// TestWriteTextMedia: the text summary of a WebRTC run shows the first
// connection's split and each kind's own figures.
func TestWriteTextMedia(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	s := Summary{
		Verdict: VerdictOK, Transport: sample.TransportWebRTC, Samples: 30, DurationMS: 30000, ConnectedPct: 99,
		ConnectMS: 412, SignalingMS: 35, ICEMS: 12, DTLSMS: 18, FirstFrameMS: f(347),
		FPS: f(25), BitrateKbps: f(1232), JitterMS: f(3.1), LossPct: 0.45,
		Video:  &KindSummary{Packets: 12000, Lost: 62, LossPct: 0.52, JitterMS: 3.1, BitrateKbps: 1200},
		Audio:  &KindSummary{Packets: 1500, Lost: 1, LossPct: 0.07, JitterMS: 2, BitrateKbps: 32},
		Frames: 748, FramesReceived: 750, FramesDropped: 2, KeyFrames: 8, NACKCount: 12, PLICount: 1, Retransmitted: 60,
		ConcealedPct: f(0.07),
	}
	var b bytes.Buffer
	s.WriteText(&b, "whep")
	for _, want := range []string{
		"connect     412 ms = signalling 35 ms + ICE 12 ms + DTLS 18 ms + first frame 347 ms\n",
		"video       25.0 fps, 1200 kbit/s, loss 0.52% of 12000 packets, jitter 3.10 ms\n",
		"frames      750 received, 748 rendered, 2 dropped, 8 keyframes; 12 NACK, 1 PLI, 60 packets retransmitted\n",
		"audio       32 kbit/s, loss 0.07% of 1500 packets, jitter 2.00 ms, concealed 0.07%\n",
		"loss        0.45% of all packets\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}
