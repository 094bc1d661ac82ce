package detect

import (
	"cmp"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// Finding is one firing condition: what, where, since when, and the figures.
type Finding struct {
	Kind     vocab.Kind     `json:"kind"`
	Severity vocab.Severity `json:"severity"`
	// Room, Probe, Location, Transport and Session locate a sample finding.
	Room      string `json:"room,omitempty"`
	Probe     string `json:"probe,omitempty"`
	Location  string `json:"location,omitempty"`
	Transport string `json:"transport,omitempty"`
	Session   string `json:"session,omitempty"`
	// Server, Check and Reading locate a health finding.
	Server  string `json:"server,omitempty"`
	Check   string `json:"check,omitempty"`
	Reading string `json:"reading,omitempty"`
	// Onset is when the condition began; FiredAt when it had held long
	// enough to fire; ClearSince, when set, when it stopped holding (the
	// finding waits out clear_after before it ends).
	Onset      time.Time `json:"onset"`
	FiredAt    time.Time `json:"fired_at"`
	ClearSince time.Time `json:"clear_since,omitzero"`
	Figures    Figures   `json:"figures"`
	Text       string    `json:"text"`
}

// ID names the finding's condition uniquely: kind and subject.
func (f *Finding) ID() string {
	parts := []string{string(f.Kind)}
	for _, p := range []string{f.Room, f.Probe, f.Transport, f.Server, f.Check, f.Reading} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}

// Key is the finding's identity as a comparable value: what ID says,
// without building a string.
type Key struct {
	Kind                                           vocab.Kind
	Room, Probe, Transport, Server, Check, Reading string
}

// Key returns the finding's identity.
func (f *Finding) Key() Key {
	return Key{f.Kind, f.Room, f.Probe, f.Transport, f.Server, f.Check, f.Reading}
}

// CompareKeys orders findings' identities: by kind, then as their IDs sort.
func CompareKeys(a, b Key) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Room, b.Room), cmp.Compare(a.Probe, b.Probe),
		cmp.Compare(a.Transport, b.Transport), cmp.Compare(a.Server, b.Server), cmp.Compare(a.Check, b.Check), cmp.Compare(a.Reading, b.Reading))
}

// Holding reports whether the finding's condition holds now (it is not in
// its clear phase).
func (f *Finding) Holding() bool { return f.ClearSince.IsZero() }

// Change is a finding that fired or cleared in a Step.
type Change struct {
	Finding    Finding
	Transition Transition
}

func compareFindings(a, b Finding) int {
	return CompareKeys(a.Key(), b.Key())
}
