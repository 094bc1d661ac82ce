package synthetic

import (
	"net/http"

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
