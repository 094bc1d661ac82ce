package detect

import (
	"cmp"
	"strings"
	"time"
)

// Kind names what a finding is about.
type Kind string

// The kinds of finding. The first five are the ones incident class rules
// match (config.FindingKinds); a silent probe is a probe problem and never
// makes an incident.
const (
	KindLatency     Kind = "latency"
	KindStutter     Kind = "stutter"
	KindDropout     Kind = "dropout"
	KindServerDown  Kind = "server_down"
	KindSaturation  Kind = "saturation"
	KindProbeSilent Kind = "probe_silent"
)

// FromSamples reports whether findings of this kind come from what probes
// measured in a room (as opposed to server health or probe heartbeats).
func (k Kind) FromSamples() bool {
	return k == KindLatency || k == KindStutter || k == KindDropout
}

// Finding is one firing condition: what, where, since when, and the figures.
type Finding struct {
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	// Room, Probe, Location and Session locate a sample finding.
	Room     string `json:"room,omitempty"`
	Probe    string `json:"probe,omitempty"`
	Location string `json:"location,omitempty"`
	Session  string `json:"session,omitempty"`
	// Server, Check and Reading locate a health finding.
	Server  string `json:"server,omitempty"`
	Check   string `json:"check,omitempty"`
	Reading string `json:"reading,omitempty"`
	// Onset is when the condition began; FiredAt when it had held long
	// enough to fire.
	Onset   time.Time `json:"onset"`
	FiredAt time.Time `json:"fired_at"`
	Figures Figures   `json:"figures"`
	Text    string    `json:"text"`
}

// ID names the finding's condition uniquely: kind and subject.
func (f *Finding) ID() string {
	parts := []string{string(f.Kind)}
	for _, p := range []string{f.Room, f.Probe, f.Server, f.Check, f.Reading} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}

// Change is a finding that fired or cleared in a Step.
type Change struct {
	Finding    Finding
	Transition Transition
}

func compareFindings(a, b Finding) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID(), b.ID()))
}
