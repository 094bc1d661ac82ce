package config

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Probe says how synthetic participants probe a room.
type Probe struct {
	// Window is the length of one measurement window; a participant emits
	// one Sample per window.
	Window time.Duration `yaml:"window"`
	// PingInterval is how often a WebSocket participant sends a ping.
	PingInterval time.Duration `yaml:"ping_interval"`
	// MissedPongs is how many pongs in a row may go missing before the
	// connection is declared dead (a silent dropout).
	MissedPongs int `yaml:"missed_pongs"`
	// ConnectTimeout bounds one connection attempt.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// ReconnectMin and ReconnectMax bound the exponential reconnect backoff.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// ReadLimit is the largest message accepted, in bytes.
	ReadLimit  int64          `yaml:"read_limit"`
	WS         WSProtocol     `yaml:"ws"`
	WebRTC     WebRTCProtocol `yaml:"webrtc"`
	Thresholds Thresholds     `yaml:"thresholds"`
}

// WSProtocol describes a hall's WebSocket event protocol, which is not
// standard: how to authenticate and join, what to send to stay alive, and
// where a message carries its sequence number and server timestamp.
type WSProtocol struct {
	// Headers are sent with the WebSocket upgrade request.
	Headers map[string]string `yaml:"headers"`
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token Secret `yaml:"token"`
	// Join is sent once connected; see [WSProtocol.JoinMessage]. Empty sends
	// nothing.
	Join string `yaml:"join"`
	// Heartbeat, when set, is sent every HeartbeatInterval.
	Heartbeat         string        `yaml:"heartbeat"`
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// SeqPointer and TSPointer are JSON pointers (RFC 6901) to a message's
	// sequence number and server timestamp; "" means messages carry none.
	SeqPointer string `yaml:"seq_pointer"`
	TSPointer  string `yaml:"ts_pointer"`
	// TSUnit is the timestamp's unit: one of [TSUnits].
	TSUnit string `yaml:"ts_unit"`
	// TickPeriod is the period of the stream's regular events (a clock tick,
	// a countdown); 0 means the stream has none, so gaps are not stutter.
	TickPeriod time.Duration `yaml:"tick_period"`
	// StutterFactor: a gap longer than StutterFactor × TickPeriod is stutter.
	StutterFactor float64 `yaml:"stutter_factor"`
}

// Thresholds are the limits beyond which a measurement is trouble.
type Thresholds struct {
	RTTDegraded time.Duration `yaml:"rtt_degraded"`
	RTTCritical time.Duration `yaml:"rtt_critical"`
	// StutterPct is the share of time (percent) spent stuttering above
	// which a room is degraded.
	StutterPct  float64       `yaml:"stutter_pct"`
	LagDegraded time.Duration `yaml:"lag_degraded"`
	// DownConnectedPct: a participant connected less than this share of the
	// time (percent) is down.
	DownConnectedPct float64 `yaml:"down_connected_pct"`
	// FirstFrameLate: a WebRTC connection whose first rendered video frame
	// came later than this after DTLS is degraded (the picture came late).
	FirstFrameLate time.Duration `yaml:"first_frame_late"`
}

// Placeholders a join or heartbeat message may contain.
const (
	PlaceholderRoom        = "{room}"
	PlaceholderParticipant = "{participant}"
)

// TSUnits are the accepted values of ts_unit: "auto" guesses seconds,
// milliseconds, microseconds or nanoseconds from a number's magnitude and
// takes a string as RFC 3339.
var TSUnits = []string{"auto", "s", "ms", "us", "ns", "rfc3339"}

// JoinMessage returns the join message for a room and participant, with the
// placeholders replaced verbatim (no escaping: room ids are plain words).
func (w *WSProtocol) JoinMessage(room, participant string) string {
	return expand(w.Join, room, participant)
}

// HeartbeatMessage returns the heartbeat message, placeholders replaced.
func (w *WSProtocol) HeartbeatMessage(room, participant string) string {
	return expand(w.Heartbeat, room, participant)
}

// Header returns the headers for the upgrade request: Headers, plus the
// token as a bearer Authorization header when one is set.
func (w *WSProtocol) Header() http.Header {
	h := make(http.Header, len(w.Headers)+1)
	for k, v := range w.Headers {
		h.Set(k, v)
	}
	if w.Token != "" {
		h.Set("Authorization", "Bearer "+w.Token.Reveal())
	}
	return h
}

func expand(tmpl, room, participant string) string {
	return strings.NewReplacer(PlaceholderRoom, room, PlaceholderParticipant, participant).Replace(tmpl)
}

func (p *Probe) validate(errs *problems) {
	positive(errs, "probe.window", p.Window)
	positive(errs, "probe.ping_interval", p.PingInterval)
	if p.MissedPongs < 1 {
		errs.add("probe.missed_pongs", "must be at least 1, got %d", p.MissedPongs)
	}
	positive(errs, "probe.connect_timeout", p.ConnectTimeout)
	if p.ReconnectMin < 0 {
		errs.add("probe.reconnect_min", "must not be negative, got %s", p.ReconnectMin)
	}
	if p.ReconnectMax <= 0 {
		errs.add("probe.reconnect_max", "must be positive, got %s", p.ReconnectMax)
	} else if p.ReconnectMax < p.ReconnectMin {
		errs.add("probe.reconnect_max", "must be at least reconnect_min (%s), got %s", p.ReconnectMin, p.ReconnectMax)
	}
	if p.ReadLimit < 1 {
		errs.add("probe.read_limit", "must be at least 1 byte, got %d", p.ReadLimit)
	}
	p.WS.validate(errs, "probe.ws")
	p.WebRTC.validate(errs, "probe.webrtc")
	p.Thresholds.validate(errs, "probe.thresholds")
}

// reservedHeaders are set by the WebSocket handshake itself.
var reservedHeaders = []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions"}

var (
	headerName  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	placeholder = regexp.MustCompile(`\{[A-Za-z_][A-Za-z0-9_]*\}`)
)

func (w *WSProtocol) validate(errs *problems, path string) {
	for _, k := range slices.Sorted(maps.Keys(w.Headers)) {
		p := joinPath(path+".headers", k)
		switch canon := http.CanonicalHeaderKey(k); {
		case !headerName.MatchString(k):
			errs.add(p, "invalid header name %s", quote(k))
		case slices.Contains(reservedHeaders, canon):
			errs.add(p, "set by the WebSocket handshake; cannot be configured")
		case canon == "Authorization" && w.Token != "":
			errs.add(p, "conflicts with %s.token (sent as Authorization); set one of them", path)
		}
		if strings.ContainsAny(w.Headers[k], "\r\n\x00") {
			errs.add(p, "value must not contain line breaks or NUL")
		}
	}
	if strings.ContainsFunc(w.Token.Reveal(), func(r rune) bool { return r < ' ' || r == 0x7f }) {
		errs.add(path+".token", "must not contain control characters")
	}
	checkPlaceholders(errs, path+".join", w.Join)
	checkPlaceholders(errs, path+".heartbeat", w.Heartbeat)
	switch {
	case w.HeartbeatInterval < 0:
		errs.add(path+".heartbeat_interval", "must not be negative, got %s", w.HeartbeatInterval)
	case w.Heartbeat != "" && w.HeartbeatInterval == 0:
		errs.add(path+".heartbeat_interval", "required when heartbeat is set")
	case w.Heartbeat == "" && w.HeartbeatInterval > 0:
		errs.add(path+".heartbeat", "required when heartbeat_interval is set")
	}
	checkPointer(errs, path+".seq_pointer", w.SeqPointer)
	checkPointer(errs, path+".ts_pointer", w.TSPointer)
	if !slices.Contains(TSUnits, w.TSUnit) {
		errs.add(path+".ts_unit", "unknown unit %s (want %s)", quote(w.TSUnit), oneOf(TSUnits...))
	}
	if w.TickPeriod < 0 {
		errs.add(path+".tick_period", "must not be negative, got %s", w.TickPeriod)
	}
	if !(w.StutterFactor > 1) {
		errs.add(path+".stutter_factor", "must be greater than 1, got %g", w.StutterFactor)
	}
}

func (t *Thresholds) validate(errs *problems, path string) {
	positive(errs, path+".rtt_degraded", t.RTTDegraded)
	if t.RTTCritical <= t.RTTDegraded {
		errs.add(path+".rtt_critical", "must be greater than rtt_degraded (%s), got %s", t.RTTDegraded, t.RTTCritical)
	}
	percent(errs, path+".stutter_pct", t.StutterPct)
	positive(errs, path+".lag_degraded", t.LagDegraded)
	percent(errs, path+".down_connected_pct", t.DownConnectedPct)
	positive(errs, path+".first_frame_late", t.FirstFrameLate)
}

// checkPlaceholders reports {words} in a message template that are not
// placeholders bidwatch fills in.
func checkPlaceholders(errs *problems, path, tmpl string) {
	for _, ph := range placeholder.FindAllString(tmpl, -1) {
		if ph != PlaceholderRoom && ph != PlaceholderParticipant {
			errs.add(path, "unknown placeholder %s (want %s or %s)", quote(ph), PlaceholderRoom, PlaceholderParticipant)
		}
	}
}

// checkPointer reports a JSON pointer that is not valid RFC 6901 syntax.
func checkPointer(errs *problems, path, ptr string) {
	if ptr == "" {
		return
	}
	if !strings.HasPrefix(ptr, "/") {
		errs.add(path, "invalid JSON pointer %s: must be empty or start with \"/\"", quote(ptr))
		return
	}
	for i := 0; i < len(ptr); i++ {
		if ptr[i] == '~' && (i+1 == len(ptr) || ptr[i+1] != '0' && ptr[i+1] != '1') {
			errs.add(path, "invalid JSON pointer %s: \"~\" must be followed by 0 or 1", quote(ptr))
			return
		}
	}
}

func positive(errs *problems, path string, d time.Duration) {
	if d <= 0 {
		errs.add(path, "must be positive, got %s", d)
	}
}

func percent(errs *problems, path string, x float64) {
	if !(x >= 0 && x <= 100) {
		errs.add(path, "must be between 0 and 100, got %g", x)
	}
}
