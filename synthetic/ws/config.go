package ws

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/bidwatch/bidwatch/synthetic"
)

// DefaultJoin is the join message of the synthetic hall's protocol
// (docs/hall-protocol.md). {room} and {participant} are replaced.
const DefaultJoin = `{"type":"join","room":"{room}","participant":"{participant}"}`

// Config configures a WebSocket participant. The zero value of every field
// but URL has a working default matching the synthetic hall's protocol; a
// real hall's protocol is described by Join, Heartbeat, the pointers and
// TickPeriod, not by code.
type Config struct {
	URL         string      // ws:// or wss://
	Header      http.Header // extra handshake headers (cookies, tenant ids)
	Token       string      // sent as "Authorization: Bearer <token>" when set
	Room        string      // room id, for the join message and the Samples
	Participant string      // participant id, for the join message and the Samples

	// Join is sent once after every (re)connection; "-" sends nothing.
	Join string
	// Heartbeat, when set, is sent every HeartbeatInterval ({room} and
	// {participant} are replaced, as in Join).
	Heartbeat         string
	HeartbeatInterval time.Duration

	// SeqPointer and TSPointer are RFC 6901 pointers to a message's sequence
	// number and server timestamp; "-" means the messages carry none.
	SeqPointer string // default "/seq"
	TSPointer  string // default "/ts"
	TSUnit     string // auto (default), s, ms, us, ns or rfc3339

	// TickPeriod is how often the hall sends periodic events; a gap longer
	// than StutterFactor × TickPeriod is stutter. Negative disables stutter
	// detection (a stream with no periodic events); zero means 1 s.
	TickPeriod    time.Duration
	StutterFactor float64 // default 2

	PingInterval   time.Duration // RFC 6455 ping period, default 1 s
	MissedPongs    int           // unanswered pings that make a dropout, default 3
	ConnectTimeout time.Duration // TCP + TLS + upgrade, default 10 s
	ReconnectMin   time.Duration // first reconnect delay, default 250 ms
	ReconnectMax   time.Duration // backoff ceiling, default 30 s
	ReadLimit      int64         // largest accepted message, default 1 MiB
	Window         time.Duration // sample window, default 1 s

	// OnEvent, when set, is told of connection changes as they happen, from
	// the participant's own goroutine; it must return quickly.
	OnEvent func(synthetic.Event)
	Logger  *slog.Logger
}

// WithDefaults returns c with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.Join == "" {
		c.Join = DefaultJoin
	}
	if c.SeqPointer == "" {
		c.SeqPointer = "/seq"
	}
	if c.TSPointer == "" {
		c.TSPointer = "/ts"
	}
	if c.TickPeriod == 0 {
		c.TickPeriod = time.Second
	}
	if c.StutterFactor == 0 {
		c.StutterFactor = 2
	}
	if c.PingInterval == 0 {
		c.PingInterval = time.Second
	}
	if c.MissedPongs == 0 {
		c.MissedPongs = 3
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = 250 * time.Millisecond
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = 30 * time.Second
	}
	if c.ReadLimit == 0 {
		c.ReadLimit = 1 << 20
	}
	if c.Window == 0 {
		c.Window = time.Second
	}
	if c.Participant == "" {
		c.Participant = "bidwatch"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate checks a config with defaults applied and returns every problem.
func (c Config) validate() (messageFormat, error) {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, fmt.Errorf("%w: no URL", synthetic.ErrBadURL))
	case err != nil:
		errs = append(errs, fmt.Errorf("%w: %v", synthetic.ErrBadURL, err))
	case u.Scheme != "ws" && u.Scheme != "wss":
		errs = append(errs, fmt.Errorf("%w %q: scheme must be ws or wss, not %q", synthetic.ErrBadURL, c.URL, u.Scheme))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("%w %q: no host", synthetic.ErrBadURL, c.URL))
	}
	var f messageFormat
	if c.SeqPointer != "-" {
		if f.seq, err = ParsePointer(c.SeqPointer); err != nil {
			errs = append(errs, fmt.Errorf("seq pointer: %w", err))
		}
	}
	if c.TSPointer != "-" {
		if f.ts, err = ParsePointer(c.TSPointer); err != nil {
			errs = append(errs, fmt.Errorf("ts pointer: %w", err))
		}
	}
	if f.tsUnit, err = ParseTSUnit(c.TSUnit); err != nil {
		errs = append(errs, fmt.Errorf("ts unit: %w", err))
	}
	if c.StutterFactor <= 1 {
		errs = append(errs, fmt.Errorf("stutter factor %g: must be above 1", c.StutterFactor))
	}
	for name, d := range map[string]time.Duration{
		"ping interval": c.PingInterval, "connect timeout": c.ConnectTimeout,
		"reconnect min": c.ReconnectMin, "reconnect max": c.ReconnectMax, "window": c.Window,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %v: must be positive", name, d))
		}
	}
	if c.ReconnectMax < c.ReconnectMin {
		errs = append(errs, fmt.Errorf("reconnect max %v: below reconnect min %v", c.ReconnectMax, c.ReconnectMin))
	}
	if c.MissedPongs < 1 {
		errs = append(errs, fmt.Errorf("missed pongs %d: must be at least 1", c.MissedPongs))
	}
	if c.ReadLimit < 128 {
		errs = append(errs, fmt.Errorf("read limit %d: must be at least 128 bytes", c.ReadLimit))
	}
	if c.Heartbeat != "" && c.HeartbeatInterval <= 0 {
		errs = append(errs, fmt.Errorf("heartbeat set but heartbeat interval is %v", c.HeartbeatInterval))
	}
	return f, errors.Join(errs...)
}
