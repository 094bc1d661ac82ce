package evidence

import (
	"time"
)

// Doc is an export: the records as they were stored, each sealed group's
// leaf digests, the chain from the oldest seal it needs to the head, and
// the head. Verify recomputes it from its bytes alone.
type Doc struct {
	// Format is "bidwatch-evidence/1".
	Format string `json:"format"`
	// Created is when the export was made; Subject says what of (the room
	// and the minutes around a moment).
	Created time.Time `json:"created"`
	Subject string    `json:"subject,omitempty"`
	// RecordCount is how many records follow, so a dropped last record
	// shows.
	RecordCount int      `json:"record_count"`
	Records     []Record `json:"records"`
	// Groups are the sealed groups the records belong to, each with every
	// leaf digest of its seal: a window of a session is exported without
	// the session's other Samples, yet its seal's digest recomputes.
	Groups []GroupLeaves `json:"groups"`
	// Chain holds the entries from the oldest seal the groups need to the
	// head, in order.
	Chain []Entry `json:"chain"`
	Head  Head    `json:"head"`
	// Unsealed says what the export left out because it is not sealed yet
	// (a session still running, late Samples awaiting a new seal).
	Unsealed []string `json:"unsealed,omitempty"`
}

// The record kinds.
const (
	RecordSample   = "sample"
	RecordIncident = "incident"
)

// Record is one stored record, byte for byte: a raw Sample as the archive
// holds it, or an incident version's canonical JSON.
type Record struct {
	// N numbers the records from 1 in file order.
	N int `json:"n"`
	// Kind is sample or incident.
	Kind string `json:"kind"`
	// Group is the sealed group, "<kind>:<ref>", and Leaf the record's
	// place among its leaves (from 0).
	Group string `json:"group"`
	Leaf  int    `json:"leaf"`
	// Raw is the record's bytes as stored (a JSON string holding JSON, so
	// not a byte is reformatted).
	Raw string `json:"raw"`
}

// GroupLeaves is a sealed group in an export.
type GroupLeaves struct {
	Kind string `json:"kind"`
	Ref  string `json:"ref"`
	// Seal is the number of the group's seal entry in Chain.
	Seal   int64    `json:"seal"`
	Leaves []Digest `json:"leaves"`
}

// Name is the group's "<kind>:<ref>".
func (g GroupLeaves) Name() string { return g.Kind + ":" + g.Ref }
