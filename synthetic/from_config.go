package synthetic

import (
	"net/http"

	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/config"
)

// WSConfigFrom builds a WebSocket participant's configuration for room from
// the city configuration's probe settings (defaults already applied).
func WSConfigFrom(p config.Probe, room config.Room, participant string) WSConfig {
	c := WSConfig{
		URL:               room.EventsURL,
		Token:             p.WS.Token.Reveal(),
		Room:              room.ID,
		Participant:       participant,
		Join:              orDash(p.WS.Join),
		Heartbeat:         p.WS.Heartbeat,
		HeartbeatInterval: p.WS.HeartbeatInterval,
		SeqPointer:        orDash(p.WS.SeqPointer),
		TSPointer:         orDash(p.WS.TSPointer),
		TSUnit:            p.WS.TSUnit,
		TickPeriod:        p.WS.TickPeriod,
		StutterFactor:     p.WS.StutterFactor,
		PingInterval:      p.PingInterval,
		MissedPongs:       p.MissedPongs,
		ConnectTimeout:    p.ConnectTimeout,
		ReconnectMin:      p.ReconnectMin,
		ReconnectMax:      p.ReconnectMax,
		ReadLimit:         p.ReadLimit,
		Window:            p.Window,
	}
	if c.TickPeriod == 0 {
		c.TickPeriod = -1 // the config's "no periodic events"
	}
	if len(p.WS.Headers) > 0 {
		c.Header = http.Header{}
		for k, v := range p.WS.Headers {
			c.Header.Set(k, v)
		}
	}
	return c
}

// RTCConfigFrom builds a WebRTC participant's configuration for room from
// the city configuration's probe settings (defaults already applied): its
// WHEP URL, and its WHIP URL for a coordination room.
func RTCConfigFrom(p config.Probe, room config.Room, participant string) RTCConfig {
	c := RTCConfig{
		WHEPURL:        room.WHEPURL,
		WHIPURL:        room.WHIPURL,
		Room:           room.ID,
		Participant:    participant,
		Window:         p.Window,
		NoMediaTimeout: p.WebRTC.NoMediaTimeout,
		ConnectTimeout: p.ConnectTimeout,
		ReconnectMin:   p.ReconnectMin,
		ReconnectMax:   p.ReconnectMax,
		EchoInterval:   p.WebRTC.EchoInterval,
	}
	if c.EchoInterval == 0 {
		c.EchoInterval = -1 // the config's "off"
	}
	if t := p.WebRTC.Token.Reveal(); t != "" {
		c.AuthHeader = "Bearer " + t
	}
	for _, s := range p.WebRTC.ICEServers {
		ice := webrtc.ICEServer{URLs: s.URLs, Username: s.Username}
		if s.Credential != "" {
			ice.Credential = s.Credential.Reveal()
		}
		c.ICEServers = append(c.ICEServers, ice)
	}
	return c
}

// ThresholdsFrom converts the configuration's verdict thresholds.
func ThresholdsFrom(t config.Thresholds) Thresholds {
	th := DefaultThresholds()
	th.RTTDegraded = t.RTTDegraded
	th.RTTCritical = t.RTTCritical
	th.StutterPct = t.StutterPct
	th.LagDegraded = t.LagDegraded
	th.DownConnectedPct = t.DownConnectedPct
	return th
}

// orDash maps the configuration's "none" (empty) to the participant's "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
