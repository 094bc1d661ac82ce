package probe

import "github.com/bidwatch/bidwatch/synthetic/ws"

// newWSParticipant joins a room's WebSocket event stream.
func newWSParticipant(spec ParticipantSpec) (Participant, error) {
	if spec.Room.EventsURL == "" {
		return nil, ErrNotApplicable
	}
	cfg := ws.ConfigFrom(spec.Probe, spec.Room, spec.Name)
	cfg.Logger = spec.Logger
	return ws.New(cfg)
}
