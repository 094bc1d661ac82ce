package rtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/framestamp"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic"
)

// Errors a WebRTC participant reports (wrapped, in Sample.Error and events).
var (
	// ErrSignaling is a failed WHEP or WHIP exchange: HTTP error, bad answer.
	ErrSignaling = errors.New("signalling failed")
	// ErrNoMedia is a connection on which no media arrived in time.
	ErrNoMedia = errors.New("no media")
	// ErrICE is an ICE or DTLS connection that failed or was lost.
	ErrICE = errors.New("connection lost")
)

// Config configures a WebRTC participant. Only WHEPURL is required.
type Config struct {
	// WHEPURL is the room's WHEP endpoint (http:// or https://; a
	// "whep+" prefix, as in whep+https://host/…, is accepted and stripped).
	WHEPURL string
	// WHIPURL, for a coordination room, is where the participant publishes a
	// synthetic video track of its own while it watches; the frames that
	// come back over WHEP carrying its source id measure the media round
	// trip (reported as lag).
	WHIPURL           string
	Room, Participant string
	// AuthHeader is sent as Authorization on WHEP/WHIP requests.
	AuthHeader string
	ICEServers []webrtc.ICEServer

	Window         time.Duration // sample window, default 1 s
	NoMediaTimeout time.Duration // no RTP for this long is a dropout, default 3 s
	// ConnectTimeout bounds the WHEP POST to the first rendered frame,
	// default 10 s; when video is arriving by then but no keyframe has come,
	// the wait goes on for as long again.
	ConnectTimeout time.Duration
	ReconnectMin   time.Duration // first reconnect delay, default 500 ms
	ReconnectMax   time.Duration // backoff ceiling, default 30 s
	// EchoInterval is how often an RTT probe goes over the bidwatch-echo
	// data channel (where the server opens it); default 250 ms, negative
	// disables the data channel.
	EchoInterval time.Duration

	// SettingEngine, if set, is used for every PeerConnection (tests inject
	// a vnet here). nil means pion's defaults with loopback candidates
	// included, mDNS off, and ICE declared disconnected after 3 s of silence.
	SettingEngine *webrtc.SettingEngine
	HTTPClient    *http.Client // nil: a client of the participant's own
	// OnEvent, when set, is told of connection changes and freezes as they
	// happen (from the participant's goroutines, one at a time); it must
	// return quickly. A freeze is synthetic.EventStutter, At when it was flagged and
	// Duration the gap since the last frame at that moment.
	OnEvent func(synthetic.Event)
	Logger  *slog.Logger
	Now     func() time.Time // clock for the measurements; nil means time.Now
}

// Participant is a synthetic WebRTC viewer (and, in a coordination room, publisher).
type Participant struct {
	cfg    Config
	whep   *url.URL
	whip   *url.URL
	me     *webrtc.MediaEngine
	se     *webrtc.SettingEngine
	pubAPI *webrtc.API // the WHIP publication's
	// extra interceptors go nearest the network on every WHEP connection
	// (tests: a receive-side packet drop the NACK generator sees as loss).
	extra     []interceptor.Factory
	client    *http.Client
	ownClient bool
	source    uint32
	log       *slog.Logger
	meter     *meter // of the current Run, for tests
}

// withDefaults fills every unset field.
func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = time.Second
	}
	if c.NoMediaTimeout <= 0 {
		c.NoMediaTimeout = 3 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = 500 * time.Millisecond
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = 30 * time.Second
	}
	if c.EchoInterval == 0 {
		c.EchoInterval = 250 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// parseURL checks a WHEP or WHIP URL; prefix ("whep+", "whip+") is
// accepted and stripped.
func parseURL(field, raw, prefix string) (*url.URL, error) {
	raw = strings.TrimPrefix(raw, prefix)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %v", synthetic.ErrBadURL, field, raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: %s %q: scheme must be http or https (or %shttps)", synthetic.ErrBadURL, field, raw, prefix)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: %s %q: no host", synthetic.ErrBadURL, field, raw)
	}
	return u, nil
}

// DefaultSettingEngine is the participant's SettingEngine when none is
// given: host candidates on every interface plus loopback, no mDNS, and
// ICE disconnected after 3 s of silence (failed after 8 s, keepalive 1 s).
func DefaultSettingEngine() *webrtc.SettingEngine {
	se := &webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(3*time.Second, 8*time.Second, time.Second)
	return se
}

// New checks cfg and returns a participant ready to Run.
func New(cfg Config) (*Participant, error) {
	cfg = cfg.withDefaults()
	var errs []error
	whep, err := parseURL("WHEP URL", cfg.WHEPURL, "whep+")
	if err != nil {
		errs = append(errs, err)
	}
	var whip *url.URL
	if cfg.WHIPURL != "" {
		if whip, err = parseURL("WHIP URL", cfg.WHIPURL, "whip+"); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.ReconnectMin > cfg.ReconnectMax {
		errs = append(errs, fmt.Errorf("reconnect backoff: min %s above max %s", cfg.ReconnectMin, cfg.ReconnectMax))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("webrtc participant: %w", err)
	}

	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("webrtc participant: codecs: %w", err)
	}
	// The frame stamp (the synthetic hall's, and our own when we publish):
	// offered on video; a server that does not know it leaves it out.
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: framestamp.URI}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("webrtc participant: frame stamp extension: %w", err)
	}
	se := cfg.SettingEngine
	if se == nil {
		se = DefaultSettingEngine()
	}
	// The publication answers the server's NACKs from a send buffer, as a
	// browser's does, besides sending its sender reports.
	pubIR := &interceptor.Registry{}
	responder, err := nack.NewResponderInterceptor()
	if err != nil {
		return nil, fmt.Errorf("webrtc participant: interceptors: %w", err)
	}
	pubIR.Add(responder)
	if err := webrtc.ConfigureRTCPReports(pubIR); err != nil {
		return nil, fmt.Errorf("webrtc participant: interceptors: %w", err)
	}
	p := &Participant{
		cfg:    cfg,
		whep:   whep,
		whip:   whip,
		me:     me,
		se:     se,
		pubAPI: webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(pubIR), webrtc.WithSettingEngine(*se)),
		client: cfg.HTTPClient,
		source: rand.Uint32() | 1, // never 0, the hall's own source id
		log:    cfg.Logger.With("component", "rtc-participant", "participant", cfg.Participant, "room", cfg.Room),
	}
	if p.client == nil {
		p.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		p.ownClient = true
	}
	return p, nil
}

// Run joins the room and measures until ctx is done (one Run at a time), emitting one Sample per
// window on out. It never blocks on out: a Sample the consumer has no room
// for is dropped and counted in the next one's SamplesDropped. It returns nil
// when ctx ends, after closing every PeerConnection and ending its sessions.
func (p *Participant) Run(ctx context.Context, out chan<- sample.Sample) error {
	if out == nil {
		return errors.New("webrtc participant: nil sample channel")
	}
	m := newMeter(p.cfg.Now, p.cfg.Window, p.source, p.cfg.OnEvent)
	p.meter = m
	// The link outlives ctx by a moment: the last, partial window is closed
	// first (connected as it was), then the deferred cancel tears it down.
	linkCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	linkDone := make(chan struct{})
	go func() {
		defer close(linkDone)
		p.link(linkCtx, m)
	}()
	defer func() {
		cancel()
		<-linkDone
		m.stop()
		if p.ownClient {
			p.client.CloseIdleConnections()
		}
	}()

	em := synthetic.Emitter{Out: out, Transport: sample.TransportWebRTC, Room: p.cfg.Room, Participant: p.cfg.Participant}
	timer := time.NewTimer(m.wEnd.Sub(p.cfg.Now()))
	defer timer.Stop()
	for {
		var cut time.Time
		select {
		case <-ctx.Done():
			// The last, partial window is measured too; the PeerConnection
			// is closed after it (deferred).
			cut = p.cfg.Now()
		case <-timer.C:
		}
		em.Emit(m.closeWindowAt(cut))
		if !cut.IsZero() {
			return nil
		}
		m.mu.Lock()
		next := m.wEnd
		m.mu.Unlock()
		timer.Reset(max(next.Sub(p.cfg.Now()), 0))
	}
}

// link keeps a connection up: connect, watch it until it drops, reconnect
// with bounded exponential backoff and jitter.
func (p *Participant) link(ctx context.Context, m *meter) {
	attempt := 0
	for ctx.Err() == nil {
		if attempt > 0 {
			t := time.NewTimer(synthetic.Backoff(attempt, p.cfg.ReconnectMin, p.cfg.ReconnectMax))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		c, err := p.connect(ctx, m)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Debug("connect failed", "attempt", attempt+1, "err", err)
			m.connectFailed(err)
			attempt++
			continue
		}
		err = c.watch(ctx)
		dropout := ctx.Err() == nil
		c.close(err, dropout)
		if dropout {
			p.log.Info("dropout", "err", err)
		}
		attempt = 1
	}
}
