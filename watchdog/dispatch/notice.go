package dispatch

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// The kinds of notice, and of message.
const (
	KindOpened     = "opened"
	KindReopened   = "reopened"
	KindChanged    = "changed" // class or cause
	KindMerged     = "merged"
	KindResolved   = "resolved"
	KindReminder   = "reminder"
	KindEscalation = "escalation"
	KindSummary    = "summary"
	KindTest       = "test"
	// KindReport is a scheduled period report (watchdog/reportdeliver):
	// like a test message it waits out a rate limit rather than going into
	// a summary, which would lose its attachment.
	KindReport = "report"
)

// Notice is one thing to tell one receiver about one incident. Its ID is
// stable — the incident, what happened (the event's stream id, or the
// escalation step) and the receiver — so it is queued once however often
// it is worked out.
type Notice struct {
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	Receiver Receiver       `json:"receiver"`
	Incident incident.Brief `json:"incident"`
	At       time.Time      `json:"at"`
	// Text says what happened, when the event says it ("cause refined:
	// …", "not acknowledged for 10m").
	Text string `json:"text,omitempty"`
}

// noticeID makes a notice's stable id.
func noticeID(incidentID, what string, rc Receiver) string {
	return incidentID + "|" + what + "|" + rc.Key()
}

// kindOf says which notice an incident event makes, or "".
func kindOf(ev incident.Event) string {
	switch ev.Kind {
	case incident.EventOpened:
		return KindOpened
	case incident.EventReopened:
		return KindReopened
	case incident.EventCause, "reclassified":
		return KindChanged
	case incident.EventMerged:
		return KindMerged
	case incident.EventResolved:
		return KindResolved
	case incident.EventEscalate:
		return KindEscalation
	}
	return ""
}

// messageID is a stable id for a message made of these notices, for one
// channel set: receivers drop duplicates by it.
func messageID(kind string, notices []Notice) string {
	ids := make([]string, len(notices))
	for i, n := range notices {
		ids[i] = n.ID
	}
	slices.Sort(ids)
	sum := sha256.Sum256([]byte(kind + "\n" + strings.Join(ids, "\n")))
	return "MSG-" + hex.EncodeToString(sum[:10])
}
