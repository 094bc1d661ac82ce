package hall

import (
	"encoding/json"
	"strconv"
	"time"
)

// Message types of the hall protocol (docs/hall-protocol.md).
const (
	msgJoin         = "join"
	msgJoined       = "joined"
	msgHeartbeat    = "heartbeat"
	msgHeartbeatAck = "heartbeat_ack"
	msgEvent        = "event"
	msgError        = "error"
)

// clientMsg is any message a participant sends. Fields a type does not use
// are ignored.
type clientMsg struct {
	Type        string `json:"type"`
	Room        string `json:"room"`
	Participant string `json:"participant"`
}

// joinedMsg answers a valid join.
type joinedMsg struct {
	Type        string `json:"type"`
	Room        string `json:"room"`
	Participant string `json:"participant"`
	Seq         uint64 `json:"seq"`
	TS          int64  `json:"ts"`
	PeriodMS    int64  `json:"period_ms"`
}

// heartbeatAckMsg answers a heartbeat.
type heartbeatAckMsg struct {
	Type string `json:"type"`
	TS   int64  `json:"ts"`
}

// errorMsg tells a participant its message was not understood.
type errorMsg struct {
	Type  string `json:"type"`
	Error string `json:"error"`
}

// eventMsg is one room event, the same for every connection of the room.
type eventMsg struct {
	Type string `json:"type"`
	Room string `json:"room"`
	Seq  uint64 `json:"seq"`
	TS   int64  `json:"ts"`
	Kind string `json:"kind"`
	Data any    `json:"data"`
}

// unixMicro is the protocol's timestamp: integer Unix microseconds.
func unixMicro(t time.Time) int64 { return t.UnixMicro() }

// mustJSON encodes a value built from this package's own types, which cannot
// fail to encode; a failure is a programming error reported in the frame.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(errorMsg{Type: msgError, Error: "internal: " + err.Error()})
	}
	return b
}

// yuan is an amount of money printed with exactly two decimals, the way a
// bid price is read out: 12345678.00.
type yuan float64

// MarshalJSON prints the amount with two decimals.
func (y yuan) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(y), 'f', 2, 64), nil
}
