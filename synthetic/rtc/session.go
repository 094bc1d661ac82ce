package rtc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/framestamp"
)

// echoLabel is the data channel the synthetic hall echoes.
const echoLabel = "bidwatch-echo"

// conn is one connection of a participant: a WHEP PeerConnection and, in
// a coordination room, a WHIP one. Its goroutines (track readers, the echo
// prober, the publisher's pacer) stop when it is closed.
type conn struct {
	p   *Participant
	m   *meter
	md  *sessionMedia
	gen uint64

	pc       *webrtc.PeerConnection
	location *url.URL
	pub      *publisher

	fail  chan error    // the first reason the connection is lost
	done  chan struct{} // closed when the connection closes
	epoch time.Time     // monotonic base of echo probes

	mu     sync.Mutex
	closed bool
	iceAt  time.Time
	dtlsAt time.Time
	wg     sync.WaitGroup
}

// signal reports that the connection is lost; the first reason wins.
func (c *conn) signal(err error) {
	select {
	case c.fail <- err:
	default:
	}
}

// goRun runs fn on a goroutine close waits for; nothing runs once closed.
// Safe from pion's callbacks.
func (c *conn) goRun(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
}

// connect makes one connection and returns it once its first video frame
// has arrived, with the connect phases recorded.
func (p *Participant) connect(ctx context.Context, m *meter) (*conn, error) {
	start := p.cfg.Now()
	cctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()
	c := &conn{
		p:     p,
		m:     m,
		fail:  make(chan error, 1),
		done:  make(chan struct{}),
		epoch: time.Now(),
	}
	fail := func(err error) (*conn, error) {
		c.close(err, false)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}

	c.md = m.startSession()
	c.gen = c.md.gen
	api, err := newViewAPI(p.me, p.se, c, p.extra...)
	if err != nil {
		return fail(fmt.Errorf("webrtc API: %w", err))
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: p.cfg.ICEServers})
	if err != nil {
		return fail(fmt.Errorf("new peer connection: %w", err))
	}
	c.pc = pc

	if p.whip != nil {
		if c.pub, err = c.publish(cctx); err != nil {
			return fail(err)
		}
	}
	if err := c.setup(); err != nil {
		return fail(err)
	}
	kick := c.md.recovery.kick
	c.goRun(func() { c.recover(kick) })
	offer, err := c.offer(cctx, pc)
	if err != nil {
		return fail(err)
	}
	answer, loc, err := p.exchange(cctx, "WHEP", p.whep, offer)
	c.location = loc
	if err != nil {
		return fail(err)
	}
	hasVideo, err := checkAnswer(answer)
	if err != nil {
		return fail(fmt.Errorf("%w: WHEP answer from %s: %v", ErrSignaling, urlString(p.whep), err))
	}
	if !hasVideo {
		m.setAudioOnly(c.gen)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fail(fmt.Errorf("%w: apply WHEP answer: %v", ErrSignaling, err))
	}
	signaled := p.cfg.Now()

	if err := c.awaitFirstFrame(ctx, cctx); err != nil {
		return fail(err)
	}

	c.mu.Lock()
	iceAt, dtlsAt := c.iceAt, c.dtlsAt
	c.mu.Unlock()
	first := c.md.firstFrameAt // written before firstFrame was closed
	if iceAt.IsZero() {
		iceAt = signaled
	}
	if dtlsAt.IsZero() {
		dtlsAt = iceAt
	}
	pos := func(d time.Duration) time.Duration { return max(d, 0) }
	c.goRun(c.pollICE)
	m.connected(c.gen, phases{
		signaling:  pos(signaled.Sub(start)),
		ice:        pos(iceAt.Sub(signaled)),
		dtls:       pos(dtlsAt.Sub(iceAt)),
		firstFrame: pos(first.Sub(dtlsAt)),
		total:      pos(first.Sub(start)),
	})
	return c, nil
}

// nackSent is told of a NACK the connection sends (feedbackSink).
func (c *conn) nackSent(ssrc uint32, seqs []uint16) { c.m.onNACK(c.gen, ssrc, seqs) }

// pliSent is told of a PLI the connection sends (feedbackSink).
func (c *conn) pliSent(ssrc uint32) { c.m.onPLI(c.gen, ssrc) }

// awaitFirstFrame waits for the connection's first rendered frame until
// cctx (ConnectTimeout from the POST) ends — and, when video is arriving but
// no keyframe has come (a server whose encoder cannot make one on demand,
// with keyframes up to 10 s apart), for one more ConnectTimeout, as a
// browser keeps waiting for a picture while the stream flows.
func (c *conn) awaitFirstFrame(ctx, cctx context.Context) error {
	limit := c.p.cfg.ConnectTimeout
	deadline := cctx.Done()
	extended := false
	for {
		select {
		case <-c.md.firstFrame:
			return nil
		case err := <-c.fail:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
		}
		c.mu.Lock()
		iceAt, dtlsAt := c.iceAt, c.dtlsAt
		c.mu.Unlock()
		switch {
		case iceAt.IsZero():
			return fmt.Errorf("%w: ICE did not connect within %s", ErrICE, limit)
		case dtlsAt.IsZero():
			return fmt.Errorf("%w: DTLS did not connect within %s", ErrICE, limit)
		case !extended && c.m.videoArriving(c.gen):
			ectx, cancel := context.WithTimeout(ctx, c.p.cfg.ConnectTimeout)
			defer cancel()
			deadline, extended = ectx.Done(), true
			limit += c.p.cfg.ConnectTimeout
			continue
		case extended:
			return fmt.Errorf("%w: no video frame within %s: video arrives, but no frame of it can be decoded (no keyframe)%s",
				ErrNoMedia, limit, c.invalidHint())
		}
		return fmt.Errorf("%w: no video frame within %s%s", ErrNoMedia, limit, c.invalidHint())
	}
}

// setup adds the receive-only transceivers, the echo data channel and the
// callbacks to the WHEP PeerConnection.
func (c *conn) setup() error {
	pc := c.pc
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionRecvonly,
		}); err != nil {
			return fmt.Errorf("add %s transceiver: %w", k, err)
		}
	}
	if c.p.cfg.EchoInterval > 0 {
		ordered, retransmits := false, uint16(0)
		dc, err := pc.CreateDataChannel(echoLabel, &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &retransmits})
		if err != nil {
			return fmt.Errorf("create data channel: %w", err)
		}
		dc.OnOpen(func() { c.goRun(func() { c.echo(dc) }) })
		dc.OnMessage(func(msg webrtc.DataChannelMessage) {
			if len(msg.Data) != 16 {
				return
			}
			sent := time.Duration(binary.BigEndian.Uint64(msg.Data[8:]))
			c.m.onRTT(c.gen, time.Since(c.epoch)-sent)
		})
	}
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		switch s {
		case webrtc.ICEConnectionStateConnected:
			c.mu.Lock()
			if c.iceAt.IsZero() {
				c.iceAt = c.p.cfg.Now()
			}
			c.mu.Unlock()
		case webrtc.ICEConnectionStateDisconnected, webrtc.ICEConnectionStateFailed, webrtc.ICEConnectionStateClosed:
			c.signal(fmt.Errorf("%w: ICE %s", ErrICE, s))
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			c.mu.Lock()
			if c.dtlsAt.IsZero() {
				c.dtlsAt = c.p.cfg.Now()
			}
			c.mu.Unlock()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			c.signal(fmt.Errorf("%w: peer connection %s", ErrICE, s))
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		video := t.Kind() == webrtc.RTPCodecTypeVideo
		codec := t.Codec()
		var stampID uint8
		if video {
			stampID = extensionID(r.GetParameters().HeaderExtensions, framestamp.URI)
			c.m.setVideoFeedback(c.gen, uint32(t.SSRC()), codec.RTCPFeedback)
		}
		c.goRun(func() { c.read(t, video, codec.MimeType, stampID) })
		c.goRun(func() { c.readRTCP(r, uint32(t.SSRC()), video) })
	})
	return nil
}

// offer creates the offer and waits for ICE gathering to complete (WHEP
// without trickle ICE sends every candidate in the offer).
func (c *conn) offer(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("ICE gathering did not complete: %w", ctx.Err())
	}
	return pc.LocalDescription().SDP, nil
}

// extensionID is the id an RTP header extension was negotiated with, 0 when
// it was not (or not in the one-byte form's range).
func extensionID(exts []webrtc.RTPHeaderExtensionParameter, uri string) uint8 {
	for _, e := range exts {
		if e.URI == uri && e.ID > 0 && e.ID < 15 {
			return uint8(e.ID)
		}
	}
	return 0
}

// read feeds one track's RTP packets to the meter until the connection ends;
// stampID is the frame stamp's negotiated extension id (0: none).
func (c *conn) read(t *webrtc.TrackRemote, video bool, mime string, stampID uint8) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		at := c.p.cfg.Now()
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue // not RTP: nothing to count
		}
		var stamp stampOf
		stamp.st, stamp.ok = framestamp.FromHeader(&pkt.Header, stampID)
		c.m.onRTP(c.gen, video, mime, &pkt, stamp, n, at)
	}
}

// readRTCP reads a receiver's RTCP, so pion's interceptors see the server's
// sender reports (and answer them with receiver reports), and gives the
// meter the sender reports about the track's stream ssrc: they date frames
// that carry no frame stamp.
func (c *conn) readRTCP(r *webrtc.RTPReceiver, ssrc uint32, video bool) {
	buf := make([]byte, 1500)
	for {
		n, _, err := r.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, pkt := range pkts {
			if sr, ok := pkt.(*rtcp.SenderReport); ok && sr.SSRC == ssrc {
				c.m.onSenderReport(c.gen, video, sr.SSRC, sr.NTPTime, sr.RTPTime)
			}
		}
	}
}

// echo sends an RTT probe on the echo data channel every EchoInterval: a
// sequence number and the send time, which the server sends back as is.
func (c *conn) echo(dc *webrtc.DataChannel) {
	t := time.NewTicker(c.p.cfg.EchoInterval)
	defer t.Stop()
	var seq uint64
	var b [16]byte
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		seq++
		binary.BigEndian.PutUint64(b[:], seq)
		binary.BigEndian.PutUint64(b[8:], uint64(time.Since(c.epoch)))
		if err := dc.Send(b[:]); err != nil && errors.Is(err, webrtc.ErrConnectionClosed) {
			return
		}
	}
}

// pollICE reads the selected ICE candidate pair's round-trip time (from
// STUN consent checks) once a window, on a goroutine of its own: pion answers
// through the ICE agent's loop, which may be busy, and the owner loop must
// never wait for it.
func (c *conn) pollICE() {
	t := time.NewTicker(c.p.cfg.Window)
	defer t.Stop()
	ice := c.pc.SCTP().Transport().ICETransport()
	var responses uint64
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		st, ok := ice.GetSelectedCandidatePairStats()
		if !ok || st.ResponsesReceived <= responses {
			continue
		}
		responses = st.ResponsesReceived
		if st.CurrentRoundTripTime > 0 {
			c.m.onRTT(c.gen, time.Duration(st.CurrentRoundTripTime*float64(time.Second)))
		}
	}
}

// watch waits until the connection is lost (returning why) or ctx ends
// (returning nil).
func (c *conn) watch(ctx context.Context) error {
	limit := c.p.cfg.NoMediaTimeout
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-c.fail:
			return err
		case <-timer.C:
		}
		idle := c.p.cfg.Now().Sub(c.m.lastMedia(c.gen))
		if idle >= limit {
			return fmt.Errorf("%w for %s%s", ErrNoMedia, limit, c.invalidHint())
		}
		timer.Reset(limit - idle)
	}
}

// invalidHint says how many RTP packets were discarded as invalid, if any.
func (c *conn) invalidHint() string {
	if n := c.m.invalid(c.gen); n > 0 {
		return fmt.Sprintf(" (%d RTP packets discarded as invalid)", n)
	}
	return ""
}

// close ends the connection: the meter first (so late media is ignored), then
// the PeerConnections, our goroutines, and the WHEP/WHIP sessions (DELETE).
func (c *conn) close(err error, dropout bool) {
	if c.md != nil {
		c.m.endSession(c.gen, c.p.cfg.Now(), err, dropout)
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	close(c.done)
	if c.pc != nil {
		_ = c.pc.GracefulClose()
	}
	if c.pub != nil {
		_ = c.pub.pc.GracefulClose()
	}
	c.wg.Wait()
	if c.location != nil {
		c.p.deleteSession("WHEP", c.location)
	}
	if c.pub != nil && c.pub.location != nil {
		c.p.deleteSession("WHIP", c.pub.location)
	}
}
