package rtc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/framestamp"
	"github.com/bidwatch/bidwatch/internal/mediaclip"
)

// publishKeyInterval is the keyframe interval of the participant's own
// video: a webcam-like 2 s (the clip's, one of mediaclip.KeyIntervals).
const publishKeyInterval = 2 * time.Second

// publishMTU is the largest RTP payload the publisher makes.
const publishMTU = 1200

// publisher is the participant's WHIP publication in a coordination room.
type publisher struct {
	pc       *webrtc.PeerConnection
	location *url.URL
	// keyframe is set when the server asks for one (PLI, FIR).
	keyframe atomic.Bool
}

// publish opens the WHIP PeerConnection, publishes a real VP8 video (the
// clip of internal/mediaclip, looped at 25 fps) whose packets carry the frame
// stamp with the participant's own source id, and starts pacing it.
// Receiver reports the server sends back give an RTCP round-trip time.
func (c *conn) publish(ctx context.Context) (*publisher, error) {
	p := c.p
	clip, err := mediaclip.Open(mediaclip.VP8, publishKeyInterval)
	if err != nil {
		return nil, fmt.Errorf("WHIP video: %w", err)
	}
	pc, err := p.pubAPI.NewPeerConnection(webrtc.Configuration{ICEServers: p.cfg.ICEServers})
	if err != nil {
		return nil, fmt.Errorf("new WHIP peer connection: %w", err)
	}
	pub := &publisher{pc: pc}
	track, err := webrtc.NewTrackLocalStaticRTP(
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
	stampID := extensionID(tr.Sender().GetParameters().HeaderExtensions, framestamp.URI)
	c.goRun(func() { c.pace(pub, track, clip, stampID) })
	c.goRun(func() { c.readReports(pub, tr.Sender()) })
	return pub, nil
}

// pace sends the clip's frames, one every 1/25 s, until the connection
// closes: packetized as pion's VP8 payloader does, RTP timestamps at the
// frames' scheduled capture times, and every packet stamped (when the server
// negotiated the extension) with the source id, the frame counter and the
// send time. A keyframe request makes the next frame the clip's next
// keyframe, as an encoder would.
func (c *conn) pace(pub *publisher, track *webrtc.TrackLocalStaticRTP, clip *mediaclip.Clip, stampID uint8) {
	period := time.Second / time.Duration(clip.FPS)
	t := time.NewTicker(period)
	defer t.Stop()
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	seq, ts0 := uint16(rand.Uint32()), rand.Uint32()
	var n uint32
	pos := 0
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if pub.keyframe.Swap(false) && !clip.Frames[pos].Key {
			pos = clip.NextKey(pos)
		}
		f := clip.Frames[pos]
		pos = (pos + 1) % len(clip.Frames)
		stamp := framestamp.Stamp{Source: c.p.source, Frame: n, Sent: time.Now()}.Marshal()
		payloads := pay.Payload(publishMTU, f.Data)
		for i, b := range payloads {
			pkt := &rtp.Packet{
				Header: rtp.Header{
					Version: 2, Marker: i == len(payloads)-1, SequenceNumber: seq,
					Timestamp: ts0 + n*uint32(90000/clip.FPS),
				},
				Payload: b,
			}
			seq++
			if stampID != 0 {
				_ = pkt.Header.SetExtension(stampID, stamp)
			}
			_ = track.WriteRTP(pkt) // a closed connection ends the loop at c.done
		}
		n++
	}
}

// readReports turns the server's receiver reports about our stream into RTT
// measurements (RFC 3550 §6.4.1: arrival − LSR − DLSR).
// A PLI or FIR asks pub for a keyframe.
func (c *conn) readReports(pub *publisher, s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		arrival := ntpMiddle(time.Now())
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				pub.keyframe.Store(true)
			}
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
