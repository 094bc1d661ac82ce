package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/framestamp"
	"github.com/bidwatch/bidwatch/internal/mediaclip"
)

// Room kinds, as in bidwatch's configuration.
const (
	KindOpeningHall      = "opening-hall"
	KindCoordinationRoom = "coordination-room"
)

// Defaults of Options and RoomSpec.
const (
	DefaultFPS         = mediaclip.FPS
	DefaultKeyInterval = 2 * time.Second
	DefaultCodec       = CodecVP8
)

// The video codecs a room can send (RoomSpec.Codec).
const (
	CodecVP8  = string(mediaclip.VP8)
	CodecH264 = string(mediaclip.H264)
)

// h264Fmtp is the H.264 the hall sends and accepts: constrained baseline,
// level 3.1, non-interleaved packetization (FU-A, STAP-A).
const h264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// EchoLabel is the label of the data channel the server echoes.
const EchoLabel = "bidwatch-echo"

// RoomSpec names one room, its kind and its video codec.
type RoomSpec struct {
	ID string
	// Kind is KindOpeningHall (the default: WHEP only) or
	// KindCoordinationRoom (WHEP and WHIP).
	Kind string
	// Codec is the room's video codec, CodecVP8 (the default) or CodecH264.
	Codec string
}

// Options configures a Server.
type Options struct {
	Rooms []RoomSpec
	// FPS the video clip is played at; zero means 25, the clips' own rate
	// (another rate plays them faster or slower).
	FPS int
	// KeyInterval is the time from one keyframe to the next of every room's
	// video: 2 s (zero, the default) or 10 s (see mediaclip.KeyIntervals).
	KeyInterval time.Duration
	// SettingEngine for the server's PeerConnections; nil means
	// LoopbackSettingEngine(). Its network is replaced (see Net).
	SettingEngine *webrtc.SettingEngine
	// Net is the network the server's sockets are opened on (a pion vnet in
	// tests); nil means the host's. The server wraps it to implement the
	// kill-ICE fault, so set it here, not on SettingEngine.
	Net transport.Net
	// SessionTimeout closes a session whose ICE has not connected this long
	// after its answer; zero means 30 s.
	SessionTimeout time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// LoopbackSettingEngine returns a SettingEngine that gathers only the IPv4
// loopback address, over UDP, without mDNS, and detects a dead peer within a
// few seconds (ICE disconnected after 3 s of silence, failed after 8 s,
// keepalive every second). It is the media server's default and what tests
// give participants.
func LoopbackSettingEngine() *webrtc.SettingEngine {
	se := &webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(3*time.Second, 8*time.Second, time.Second)
	return se
}

// Server is the media side of the synthetic hall.
type Server struct {
	log     *slog.Logger
	rooms   map[string]*room
	timeout time.Duration
	ctx     context.Context
	cancel  context.CancelFunc
	nextSrc atomic.Int64

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session
	wg       sync.WaitGroup
}

// New builds the rooms' tracks and starts their senders.
func New(opts Options) (*Server, error) {
	if opts.FPS <= 0 {
		opts.FPS = DefaultFPS
	}
	if opts.KeyInterval <= 0 {
		opts.KeyInterval = DefaultKeyInterval
	}
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.FPS > 120 {
		return nil, fmt.Errorf("media: fps %d: must be within 1…120", opts.FPS)
	}
	if !slices.Contains(mediaclip.KeyIntervals(), opts.KeyInterval) {
		return nil, fmt.Errorf("media: key interval %s: want one of %v", opts.KeyInterval, mediaclip.KeyIntervals())
	}
	base := opts.Net
	if base == nil {
		n, err := stdnet.NewNet()
		if err != nil {
			return nil, fmt.Errorf("media: host network: %w", err)
		}
		base = n
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		log:      opts.Logger.With("component", "hall-media"),
		rooms:    map[string]*room{},
		timeout:  opts.SessionTimeout,
		ctx:      ctx,
		cancel:   cancel,
		sessions: map[string]*session{},
	}
	var errs []error
	clips := map[string]*mediaclip.Clip{}
	for i, spec := range opts.Rooms {
		if spec.Kind == "" {
			spec.Kind = KindOpeningHall
		}
		if spec.Codec == "" {
			spec.Codec = DefaultCodec
		}
		switch {
		case spec.ID == "" || strings.ContainsAny(spec.ID, "/?#% "):
			errs = append(errs, fmt.Errorf("media: rooms[%d].id: %q: must be a non-empty URL path segment", i, spec.ID))
			continue
		case s.rooms[spec.ID] != nil:
			errs = append(errs, fmt.Errorf("media: rooms[%d].id: %q: duplicate room", i, spec.ID))
			continue
		case spec.Kind != KindOpeningHall && spec.Kind != KindCoordinationRoom:
			errs = append(errs, fmt.Errorf("media: rooms[%d].kind: %q: must be %q or %q", i, spec.Kind, KindOpeningHall, KindCoordinationRoom))
			continue
		case spec.Codec != CodecVP8 && spec.Codec != CodecH264:
			errs = append(errs, fmt.Errorf("media: rooms[%d].codec: unknown codec %q (want %s or %s)", i, spec.Codec, CodecVP8, CodecH264))
			continue
		}
		clip := clips[spec.Codec]
		if clip == nil {
			c, err := mediaclip.Open(mediaclip.Codec(spec.Codec), opts.KeyInterval)
			if err != nil {
				errs = append(errs, fmt.Errorf("media: rooms[%d].codec: %w", i, err))
				continue
			}
			clip, clips[spec.Codec] = c, c
		}
		rm, err := s.newRoom(spec, clip, opts, base)
		if err != nil {
			errs = append(errs, fmt.Errorf("media: room %q: %w", spec.ID, err))
			continue
		}
		s.rooms[spec.ID] = rm
	}
	if err := errors.Join(errs...); err != nil {
		cancel()
		return nil, err
	}
	for _, rm := range s.rooms {
		s.wg.Add(3)
		go func() { defer s.wg.Done(); rm.run(ctx) }()
		go func() { defer s.wg.Done(); rm.videoOut.runDelay(ctx) }()
		go func() { defer s.wg.Done(); rm.audioOut.runDelay(ctx) }()
	}
	return s, nil
}

func (s *Server) newRoom(spec RoomSpec, clip *mediaclip.Clip, opts Options, base transport.Net) (*room, error) {
	rm := &room{
		id:      spec.ID,
		kind:    spec.Kind,
		codec:   spec.Codec,
		clip:    clip,
		log:     s.log.With("room", spec.ID),
		fps:     opts.FPS,
		watched: make(chan struct{}, 1),
		keys:    keyGate{minGap: keyframeMinGap},
		drops:   newDropLog(),
	}
	se := opts.SettingEngine
	if se == nil {
		se = LoopbackSettingEngine()
	}
	roomSE := *se // a copy per room: each has its own killable network
	roomSE.SetNet(killNet{Net: base, kill: &rm.killICE})

	me, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	// Order matters: the first added sits nearest the network. The room's
	// own interceptor sees RTCP first (it counts NACK and PLI, and hides
	// NACKs from the responder under the no-retransmit fault) and RTP last
	// (the loss fault drops packets after the NACK responder kept them, as
	// a network loses what was sent).
	ir.Add(roomInterceptorFactory{r: rm})
	responder, err := nack.NewResponderInterceptor(nack.ResponderSize(nackBufferLen))
	if err != nil {
		return nil, err
	}
	ir.Add(responder)
	// Sender reports to viewers; receiver reports (with LSR/DLSR, so the
	// publisher can compute its RTT) to WHIP publishers.
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	rm.api = webrtc.NewAPI(webrtc.WithSettingEngine(roomSE), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir))

	stream := "bidwatch-" + spec.ID
	videoCap := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	if spec.Codec == CodecH264 {
		videoCap = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp}
	}
	rm.video = newOutTrack(videoCap, "video", stream)
	rm.audio = newOutTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", stream)
	rm.videoOut = newMediaOut(rm.video, 90000)
	rm.audioOut = newMediaOut(rm.audio, 48000)
	return rm, nil
}

// videoFeedback is the RTCP feedback the hall's video codecs offer: NACK
// (answered by retransmission), PLI and FIR (answered with a keyframe).
var videoFeedback = []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}

// newMediaEngine registers what every room can send and receive: VP8 and
// H.264 (a room's track picks one), Opus, and the frame-stamp extension on
// video.
func newMediaEngine() (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	for _, c := range []struct {
		c    webrtc.RTPCodecCapability
		pt   webrtc.PayloadType
		kind webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}, 96, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp, RTCPFeedback: videoFeedback}, 102, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, 111, webrtc.RTPCodecTypeAudio},
	} {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: c.c, PayloadType: c.pt}, c.kind); err != nil {
			return nil, err
		}
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: framestamp.URI}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	return me, nil
}

// Rooms lists the rooms' ids.
func (s *Server) Rooms() []string {
	ids := make([]string, 0, len(s.rooms))
	for id := range s.rooms {
		ids = append(ids, id)
	}
	return ids
}

// Sessions is the number of live WHEP and WHIP sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close ends every session, closing its PeerConnection, and stops the rooms'
// senders; it returns when every goroutine the server started has ended.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	sessions := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	clear(s.sessions)
	s.mu.Unlock()

	s.cancel()
	var errs []error
	for _, sess := range sessions {
		if err := sess.close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, rm := range s.rooms {
		rm.mu.Lock()
		if rm.clearTimer != nil {
			rm.clearTimer.Stop()
		}
		rm.mu.Unlock()
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// goSession runs fn on a goroutine the server waits for at Close; it returns
// false (and runs nothing) once the server is closing.
func (s *Server) goSession(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}

// rtcpReader is an RTPSender or RTPReceiver: its Read returns RTCP.
type rtcpReader interface {
	Read([]byte) (int, interceptor.Attributes, error)
}

// drainRTCP reads and discards RTCP until the PeerConnection closes, so
// pion's interceptors see it (receiver reports carry the sender-report
// timing a publisher needs for its RTT).
func drainRTCP(r rtcpReader) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := r.Read(buf); err != nil {
			return
		}
	}
}
