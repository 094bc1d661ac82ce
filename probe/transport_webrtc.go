package probe

import "github.com/bidwatch/bidwatch/synthetic"

// newRTCParticipant watches a room's video over WHEP and, in a coordination
// room, publishes over WHIP too.
func newRTCParticipant(spec ParticipantSpec) (Participant, error) {
	if spec.Room.WHEPURL == "" {
		return nil, ErrNotApplicable
	}
	cfg := synthetic.RTCConfigFrom(spec.Probe, spec.Room, spec.Name)
	cfg.Logger = spec.Logger
	return synthetic.NewRTC(cfg)
}
