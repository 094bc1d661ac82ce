package rtc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

const (
	// publishFPS and publishKbps shape the participant's own video: a
	// webcam-like 25 fps at about 300 kbit/s, a keyframe every 2 s.
	publishFPS  = 25
	publishKbps = 300
)

// publisher is the participant's WHIP publication in a coordination room.
type publisher struct {
	pc       *webrtc.PeerConnection
	location *url.URL
}

// publish opens the WHIP PeerConnection, publishes a synthetic video track
// whose frames carry the participant's source id, and starts pacing it.
// Receiver reports the server sends back give an RTCP round-trip time.
func (c *conn) publish(ctx context.Context) (*publisher, error) {
	p := c.p
	pc, err := p.api.NewPeerConnection(webrtc.Configuration{ICEServers: p.cfg.ICEServers})
	if err != nil {
		return nil, fmt.Errorf("new WHIP peer connection: %w", err)
	}
	pub := &publisher{pc: pc}
	track, err := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "bidwatch-"+p.cfg.Participant)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("add WHIP track: %w", err)
	}
	c.pub = pub // closed with the connection from here on
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		switch s {
		case webrtc.ICEConnectionStateDisconnected, webrtc.ICEConnectionStateFailed, webrtc.ICEConnectionStateClosed:
			c.signal(fmt.Errorf("%w: WHIP ICE %s", ErrICE, s))
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			c.signal(fmt.Errorf("%w: WHIP peer connection %s", ErrICE, s))
		}
	})
	offer, err := c.offer(ctx, pc)
	if err != nil {
		return pub, err
	}
	answer, loc, err := p.exchange(ctx, "WHIP", p.whip, offer)
	pub.location = loc
	if err != nil {
		return pub, err
	}
	if _, err := checkAnswer(answer); err != nil {
		return pub, fmt.Errorf("%w: WHIP answer from %s: %v", ErrSignaling, urlString(p.whip), err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return pub, fmt.Errorf("%w: apply WHIP answer: %v", ErrSignaling, err)
	}
	c.goRun(func() { c.pace(track) })
	c.goRun(func() { c.readReports(tr.Sender()) })
	return pub, nil
}

// pace writes the participant's synthetic video until the connection closes.
func (c *conn) pace(track *webrtc.TrackLocalStaticSample) {
	const period = time.Second / publishFPS
	t := time.NewTicker(period)
	defer t.Stop()
	gop := uint32(2 * publishFPS)
	inter := float64(publishKbps) * 1000 / 8 * 2 / float64(gop-1+8)
	var n uint32
	var buf []byte
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		key := n%gop == 0
		size := inter * (0.9 + 0.2*rand.Float64())
		if key {
			size *= 8
		}
		buf = appendVP8Frame(buf[:0], key, int(size), stamp{source: c.p.source, frame: n, sent: time.Now()})
		n++
		// WriteSample copies the data into RTP packets before returning.
		if err := track.WriteSample(pionmedia.Sample{Data: buf, Duration: period}); err != nil {
			return
		}
	}
}

// readReports turns the server's receiver reports about our stream into RTT
// measurements (RFC 3550 §6.4.1: arrival − LSR − DLSR).
func (c *conn) readReports(s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		arrival := ntpMiddle(time.Now())
		for _, pkt := range pkts {
			rr, ok := pkt.(*rtcp.ReceiverReport)
			if !ok {
				continue
			}
			for _, r := range rr.Reports {
				if rtt, ok := rttFromReport(arrival, r.LastSenderReport, r.Delay); ok {
					c.m.onRTT(c.gen, rtt)
				}
			}
		}
	}
}
