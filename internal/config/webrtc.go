package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// WebRTCProtocol says how a WebRTC participant reaches a room's media
// server: the ICE servers (STUN/TURN) it needs behind a NAT, the token the
// WHEP/WHIP endpoints want, and when a silent stream counts as a dropout.
type WebRTCProtocol struct {
	// ICEServers are STUN and TURN servers; none on a flat network.
	ICEServers []ICEServer `yaml:"ice_servers"`
	// Token, when set, is sent as "Authorization: Bearer <token>" on the
	// WHEP and WHIP requests.
	Token Secret `yaml:"token"`
	// NoMediaTimeout: no RTP for this long is a dropout.
	NoMediaTimeout time.Duration `yaml:"no_media_timeout"`
	// EchoInterval is how often an RTT probe goes over the media server's
	// bidwatch-echo data channel, where it offers one; 0 turns it off.
	EchoInterval time.Duration `yaml:"echo_interval"`
}

// ICEServer is one STUN or TURN server.
type ICEServer struct {
	// URLs are stun:, stuns:, turn: or turns: URIs (RFC 7064, RFC 7065).
	URLs []string `yaml:"urls"`
	// Username and Credential are a TURN server's long-term credentials.
	Username   string `yaml:"username"`
	Credential Secret `yaml:"credential"`
}

func defaultWebRTC() WebRTCProtocol {
	return WebRTCProtocol{NoMediaTimeout: 3 * time.Second, EchoInterval: 250 * time.Millisecond}
}

func (w *WebRTCProtocol) validate(errs *problems, path string) {
	positive(errs, path+".no_media_timeout", w.NoMediaTimeout)
	if w.EchoInterval < 0 {
		errs.add(path+".echo_interval", "must not be negative, got %s", w.EchoInterval)
	}
	if strings.ContainsFunc(w.Token.Reveal(), func(r rune) bool { return r < ' ' || r == 0x7f }) {
		errs.add(path+".token", "must not contain control characters")
	}
	for i, s := range w.ICEServers {
		p := fmt.Sprintf("%s.ice_servers[%d]", path, i)
		if len(s.URLs) == 0 {
			errs.add(p+".urls", "at least one stun: or turn: URL is required")
		}
		turn := false
		for j, raw := range s.URLs {
			u, err := url.Parse(raw)
			switch {
			case err != nil:
				errs.add(fmt.Sprintf("%s.urls[%d]", p, j), "not a URL: %q", raw)
			case u.Scheme == "turn" || u.Scheme == "turns":
				turn = true
			case u.Scheme != "stun" && u.Scheme != "stuns":
				errs.add(fmt.Sprintf("%s.urls[%d]", p, j), "unknown scheme in %q (want stun, stuns, turn or turns)", raw)
			}
		}
		if turn && (s.Username == "" || s.Credential == "") {
			errs.add(p, "a TURN server needs username and credential")
		}
	}
}
