package synthetic

import (
	"errors"
	"time"
)

// ErrBadURL is returned for a participant URL that cannot be joined.
var ErrBadURL = errors.New("bad URL")

// EventKind names a connection change.
type EventKind string

// Connection changes reported through OnEvent.
const (
	EventConnected   EventKind = "connected"
	EventDropout     EventKind = "dropout"
	EventReconnected EventKind = "reconnected"
	EventConnectFail EventKind = "connect_failed"
	EventStutter     EventKind = "stutter"
)

// Event is a connection change seen by a participant.
type Event struct {
	Kind EventKind
	At   time.Time
	// Duration is the connect time (connected, reconnected) or the outage
	// length (reconnected).
	Duration time.Duration
	Outage   time.Duration
	Err      error
}
