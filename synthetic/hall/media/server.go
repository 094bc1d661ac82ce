package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// Room kinds, as in bidwatch's configuration.
const (
	KindOpeningHall      = "opening-hall"
	KindCoordinationRoom = "coordination-room"
)

// Defaults of Options.
const (
	DefaultFPS         = 25
	DefaultBitrateKbps = 500
)

// EchoLabel is the label of the data channel the server echoes.
const EchoLabel = "bidwatch-echo"

// RoomSpec names one room and its kind.
type RoomSpec struct {
	ID string
	// Kind is KindOpeningHall (the default: WHEP only) or
	// KindCoordinationRoom (WHEP and WHIP).
	Kind string
}

// Options configures a Server.
type Options struct {
	Rooms []RoomSpec
	// FPS of the synthetic video; zero means 25.
	FPS int
	// BitrateKbps of the synthetic video and audio together; zero means 500.
	BitrateKbps int
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
	if opts.BitrateKbps <= 0 {
		opts.BitrateKbps = DefaultBitrateKbps
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
	for i, spec := range opts.Rooms {
		if spec.Kind == "" {
			spec.Kind = KindOpeningHall
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
		}
		rm, err := s.newRoom(spec, opts, base)
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

func (s *Server) newRoom(spec RoomSpec, opts Options, base transport.Net) (*room, error) {
	rm := &room{
		id:          spec.ID,
		kind:        spec.Kind,
		log:         s.log.With("room", spec.ID),
		fps:         opts.FPS,
		bitrateKbps: opts.BitrateKbps,
		watched:     make(chan struct{}, 1),
	}
	se := opts.SettingEngine
	if se == nil {
		se = LoopbackSettingEngine()
	}
	roomSE := *se // a copy per room: each has its own killable network
	roomSE.SetNet(killNet{Net: base, kill: &rm.killICE})

	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	// Sender reports to viewers; receiver reports (with LSR/DLSR, so the
	// publisher can compute its RTT) to WHIP publishers.
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	rm.api = webrtc.NewAPI(webrtc.WithSettingEngine(roomSE), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir))

	var err error
	stream := "bidwatch-" + spec.ID
	if rm.video, err = webrtc.NewTrackLocalStaticRTP(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", stream); err != nil {
		return nil, err
	}
	if rm.audio, err = webrtc.NewTrackLocalStaticRTP(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", stream); err != nil {
		return nil, err
	}
	rm.videoOut = newMediaOut(rm.video, 90000)
	rm.audioOut = newMediaOut(rm.audio, 48000)
	return rm, nil
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
