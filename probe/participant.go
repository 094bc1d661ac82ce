package probe

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
)

// Participant is a synthetic participant: it joins a room and emits one
// Sample per window on out until ctx is done, never blocking on out. Each
// participant numbers its Samples from 1 without gaps.
type Participant interface {
	Run(ctx context.Context, out chan<- sample.Sample) error
}

// ParticipantSpec is what a Factory needs to make one participant.
type ParticipantSpec struct {
	// Room is the room to join, from the city configuration.
	Room config.Room
	// Probe holds the probe settings (ping interval, window, protocol).
	Probe config.Probe
	// Name is the participant's id, unique for this probe across restarts;
	// it goes into the Samples' participant field.
	Name   string
	Logger *slog.Logger
}

// Factory makes a participant for a transport.
type Factory func(ParticipantSpec) (Participant, error)

// ErrNotApplicable is returned (wrapped) by a Factory for a room its
// transport cannot join (a hall with no WHEP URL, say): the room is probed by
// the other transports and a debug line says so.
var ErrNotApplicable = errors.New("transport not applicable to this room")

// Transports returns the registry of participant transports, keyed by the
// name used in the agent's participants_per_room: one map entry per transport
// file. A fresh map every call, so a caller (a test) may add or replace
// entries without affecting anyone else.
func Transports() map[string]Factory {
	return map[string]Factory{
		string(sample.TransportWS):     newWSParticipant,
		string(sample.TransportWebRTC): newRTCParticipant,
	}
}

// TransportNames lists the registry's transports, sorted.
func TransportNames(reg map[string]Factory) []string {
	return slices.Sorted(maps.Keys(reg))
}
