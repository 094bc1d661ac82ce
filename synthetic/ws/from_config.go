package ws

import (
	"net/http"

	"github.com/bidwatch/bidwatch/internal/config"
)

// ConfigFrom builds a WebSocket participant's configuration for room from
// the city configuration's probe settings (defaults already applied).
func ConfigFrom(p config.Probe, room config.Room, participant string) Config {
	c := Config{
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

// orDash maps the configuration's "none" (empty) to the participant's "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
