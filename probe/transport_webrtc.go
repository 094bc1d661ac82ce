package probe

import "github.com/bidwatch/bidwatch/synthetic"

// newRTCParticipant watches a room's video over WHEP and, in a coordination
// room, publishes over WHIP too.
func newRTCParticipant(spec ParticipantSpec) (Participant, error) {
	if spec.Room.WHEPURL == "" {
		return nil, ErrNotApplicable
	}
	return synthetic.NewRTC(synthetic.RTCConfig{
		WHEPURL:        spec.Room.WHEPURL,
		WHIPURL:        spec.Room.WHIPURL,
		Room:           spec.Room.ID,
		Participant:    spec.Name,
		Window:         spec.Probe.Window,
		ConnectTimeout: spec.Probe.ConnectTimeout,
		ReconnectMin:   spec.Probe.ReconnectMin,
		ReconnectMax:   spec.Probe.ReconnectMax,
		Logger:         spec.Logger,
	})
}
