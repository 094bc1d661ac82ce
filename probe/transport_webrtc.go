package probe

import "github.com/bidwatch/bidwatch/synthetic/rtc"

// newRTCParticipant watches a room's video over WHEP and, in a coordination
// room, publishes over WHIP too.
func newRTCParticipant(spec ParticipantSpec) (Participant, error) {
	if spec.Room.WHEPURL == "" {
		return nil, ErrNotApplicable
	}
	cfg := rtc.ConfigFrom(spec.Probe, spec.Room, spec.Name)
	cfg.Logger = spec.Logger
	return rtc.New(cfg)
}
