package correlate

import (
	"time"

	"github.com/bidwatch/bidwatch/watchdog/detect"
)

// Cause is what a problem is blamed on.
type Cause string

// The causes.
const (
	CauseServer  Cause = "server"
	CauseRoom    Cause = "room"
	CauseNetwork Cause = "network"
	CauseProbe   Cause = "probe"
)

// Strength orders causes by how much they explain: a server explains its
// rooms' trouble, a room explains only itself.
func (c Cause) Strength() int {
	switch c {
	case CauseServer:
		return 3
	case CauseNetwork:
		return 2
	case CauseRoom:
		return 1
	}
	return 0
}

// Problem is one fault, with everything it touches and the findings that
// show it.
type Problem struct {
	// Fingerprint names the problem stably while it lasts and when it
	// comes back: cause and subject, "server:yz-media-1".
	Fingerprint string `json:"fingerprint"`
	Cause       Cause  `json:"cause"`
	// Subject is the server, room, location or probe blamed.
	Subject    string   `json:"subject"`
	SubCenters []string `json:"sub_centers,omitempty"`
	Rooms      []string `json:"rooms,omitempty"`
	Servers    []string `json:"servers,omitempty"`
	// Roles are the roles of Servers.
	Roles []string `json:"roles,omitempty"`
	// Locations and Probes are where it is seen from.
	Locations []string         `json:"locations,omitempty"`
	Probes    []string         `json:"probes,omitempty"`
	Findings  []detect.Finding `json:"findings,omitempty"`
	// Kinds are the kinds of Findings.
	Kinds []string `json:"kinds,omitempty"`
	// Evidence says why a server is blamed: its conditions, firing or
	// not yet ("cpu_pct 97.0 above 90 (for 4s so far)").
	Evidence []string        `json:"evidence,omitempty"`
	Severity detect.Severity `json:"severity"`
	// Since is the earliest onset of its findings.
	Since time.Time `json:"since"`
	// Page is false for probe problems and problems muted by a
	// maintenance window.
	Page    bool   `json:"page"`
	MutedBy string `json:"muted_by,omitempty"`
	// Summary says it in one line.
	Summary string `json:"summary"`
}

// Incident reports whether the problem makes an incident: every cause but a
// probe's own.
func (p *Problem) Incident() bool { return p.Cause != CauseProbe }
