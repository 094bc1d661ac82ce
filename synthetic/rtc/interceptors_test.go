package rtc

import (
	"slices"
	"strings"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/framestamp"
)

// recordSink records what a feedbackCounter reports, and in what order
// with the writes below it.
type recordSink struct {
	events []string
	nacked []uint16
}

func (r *recordSink) nackSent(ssrc uint32, seqs []uint16) {
	r.events = append(r.events, "nack")
	r.nacked = append(r.nacked, seqs...)
}

func (r *recordSink) pliSent(uint32) { r.events = append(r.events, "pli") }

func TestFeedbackCounter(t *testing.T) {
	sink := &recordSink{}
	c := &feedbackCounter{sink: sink}
	w := c.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		sink.events = append(sink.events, "write")
		return 0, nil
	}))
	nack := &rtcp.TransportLayerNack{MediaSSRC: 5, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{65535, 0, 3, 40})}
	if _, err := w.Write([]rtcp.Packet{nack}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]rtcp.Packet{&rtcp.ReceiverReport{}, &rtcp.PictureLossIndication{MediaSSRC: 5}}, nil); err != nil {
		t.Fatal(err)
	}
	if want := []string{"nack", "write", "pli", "write"}; !slices.Equal(sink.events, want) {
		t.Errorf("events %v, want %v (reported before written)", sink.events, want)
	}
	if want := []uint16{65535, 0, 3, 40}; !slices.Equal(sink.nacked, want) {
		t.Errorf("NACKed %v, want %v", sink.nacked, want)
	}
}

// TestRTCOfferFeedback: the WHEP offer asks for what a browser's does on
// video — NACK, PLI, H.264 in packetization mode 1 — and offers the frame
// stamp.
func TestRTCOfferFeedback(t *testing.T) {
	p, err := New(Config{WHEPURL: "http://127.0.0.1:1/whep"})
	if err != nil {
		t.Fatal(err)
	}
	api, err := newViewAPI(p.me, p.se, &recordSink{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c := &conn{p: p, pc: pc}
	if err := c.setup(); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer.SDP); err != nil {
		t.Fatal(err)
	}
	var video *sdp.MediaDescription
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media == "video" {
			video = md
		}
	}
	if video == nil {
		t.Fatal("no video section in the offer")
	}
	codecs := map[string]string{} // payload type → codec name
	fmtp := map[string]string{}
	fb := map[string][]string{}
	stamp := false
	for _, a := range video.Attributes {
		switch a.Key {
		case "rtpmap":
			pt, name, _ := strings.Cut(a.Value, " ")
			codecs[pt], _, _ = strings.Cut(name, "/")
		case "fmtp":
			pt, v, _ := strings.Cut(a.Value, " ")
			fmtp[pt] = v
		case "rtcp-fb":
			pt, v, _ := strings.Cut(a.Value, " ")
			fb[pt] = append(fb[pt], v)
		case "extmap":
			stamp = stamp || strings.HasSuffix(a.Value, " "+framestamp.URI)
		}
	}
	if !stamp {
		t.Error("the frame stamp extension is not offered")
	}
	mode1 := false
	for pt, name := range codecs {
		if name != "VP8" && name != "H264" {
			continue
		}
		if !slices.Contains(fb[pt], "nack") || !slices.Contains(fb[pt], "nack pli") {
			t.Errorf("%s (pt %s) feedback %q: want nack and nack pli", name, pt, fb[pt])
		}
		mode1 = mode1 || name == "H264" && strings.Contains(fmtp[pt], "packetization-mode=1")
	}
	if !mode1 {
		t.Errorf("no H.264 with packetization-mode=1 offered: %v %v", codecs, fmtp)
	}
}
