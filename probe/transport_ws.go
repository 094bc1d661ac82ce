package probe

import "github.com/bidwatch/bidwatch/synthetic"

// newWSParticipant joins a room's WebSocket event stream.
func newWSParticipant(spec ParticipantSpec) (Participant, error) {
	if spec.Room.EventsURL == "" {
		return nil, ErrNotApplicable
	}
	cfg := synthetic.WSConfigFrom(spec.Probe, spec.Room, spec.Name)
	cfg.Logger = spec.Logger
	return synthetic.NewWS(cfg)
}
