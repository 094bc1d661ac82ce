package rtc

import (
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/config"
)

// ConfigFrom builds a WebRTC participant's configuration for room from
// the city configuration's probe settings (defaults already applied): its
// WHEP URL, and its WHIP URL for a coordination room.
func ConfigFrom(p config.Probe, room config.Room, participant string) Config {
	c := Config{
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
