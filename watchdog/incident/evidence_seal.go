package incident

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/evidence"
)

// Canonical is the JSON of an incident version as its evidence seal
// digests it (docs/evidence.md): the stored record, encoded again by
// encoding/json (struct fields in order, map keys sorted), so a record read
// back from an export recomputes to the same bytes.
func Canonical(inc Incident) ([]byte, error) {
	b, err := json.Marshal(inc)
	if err != nil {
		return nil, fmt.Errorf("encode incident %s: %w", inc.ID, err)
	}
	return b, nil
}

// SealReader reads the evidence chain (evidence.Chain).
type SealReader interface {
	Head(ctx context.Context) (evidence.Head, error)
	SealEntries(ctx context.Context, gs []evidence.Group) (map[evidence.Group]evidence.Entry, error)
}

// Sealed is what an export carries of the evidence chain: its head, and
// the seal of each record's version by incident id (absent: not sealed
// yet).
type Sealed struct {
	Head  evidence.Head
	Seals map[string]evidence.Entry
}

// ReadSeals reads the chain's head and the seals of incs' versions.
func ReadSeals(ctx context.Context, r SealReader, incs []Incident) (*Sealed, error) {
	head, err := r.Head(ctx)
	if err != nil {
		return nil, err
	}
	gs := make([]evidence.Group, len(incs))
	for i, inc := range incs {
		gs[i] = evidence.Group{Kind: evidence.KindIncident, Ref: evidence.IncidentRef(inc.ID, inc.Version)}
	}
	ents, err := r.SealEntries(ctx, gs)
	if err != nil {
		return nil, err
	}
	s := &Sealed{Head: head, Seals: map[string]evidence.Entry{}}
	for i, inc := range incs {
		if e, ok := ents[gs[i]]; ok && e.N <= head.N {
			s.Seals[inc.ID] = e
		}
	}
	return s, nil
}

// WriteSealedJSON writes incidents as WriteJSON does, each record with its
// seal and the chain head, so `bidwatch verify` can check them.
func WriteSealedJSON(w io.Writer, incs []Incident, now time.Time, s *Sealed) error {
	recs := make([]Record, len(incs))
	for i, inc := range incs {
		recs[i] = RecordOf(inc, now)
		if e, ok := s.Seals[inc.ID]; ok {
			recs[i].Seal = &e
		}
		recs[i].EvidenceHead = &s.Head
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(recs); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// CSVHeadPrefix starts the comment line a sealed CSV export begins with.
const CSVHeadPrefix = "# bidwatch evidence head "

// WriteSealedCSV writes incidents as WriteCSV does after a comment line
// carrying the chain head: "# bidwatch evidence head n=… hash=…".
func WriteSealedCSV(w io.Writer, incs []Incident, now time.Time, s *Sealed) error {
	if _, err := fmt.Fprintf(w, "%s%s\n", CSVHeadPrefix, s.Head); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return WriteCSV(w, incs, now)
}

// VerifiedRecords is what VerifyJSON found: the result, and the seal
// entries and head to compare with the live chain.
type VerifiedRecords struct {
	evidence.Result
	Seals []evidence.Entry
}

// IsRecordsJSON reports whether data looks like a JSON incidents export
// (an array).
func IsRecordsJSON(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("["))
}

// VerifyJSON checks a JSON incidents export: each record's seal entry
// hashes to itself, seals this record's id and version, and its digest is
// the record's canonical JSON's; every record carries the same head, at or
// after its seal. Offline, the seals' link to the head is not checked
// (compare with the live chain for that); records left out of the file do
// not show either: an evidence export (`bidwatch evidence --export`) numbers
// its records.
func VerifyJSON(data []byte) (VerifiedRecords, error) {
	var recs []Record
	if err := json.Unmarshal(data, &recs); err != nil {
		return VerifiedRecords{}, fmt.Errorf("%w: not a JSON incidents export: %v", evidence.ErrNotEvidence, err)
	}
	var out VerifiedRecords
	out.Records = len(recs)
	unsealed := 0
	for i, r := range recs {
		where := fmt.Sprintf("record %d (%s v%d)", i+1, r.ID, r.Version)
		if r.EvidenceHead == nil {
			return out, &evidence.Problem{Where: where, What: evidence.Removed, Detail: "it carries no evidence head: an export made before sealing, or edited"}
		}
		if i == 0 {
			out.Head = *r.EvidenceHead
		} else if r.EvidenceHead.N != out.Head.N || r.EvidenceHead.Hash != out.Head.Hash {
			return out, &evidence.Problem{Where: where, What: evidence.Changed, Detail: fmt.Sprintf("its head %s is not record 1's %s", r.EvidenceHead, out.Head)}
		}
		if r.Seal == nil {
			unsealed++
			continue
		}
		e := *r.Seal
		if e.ComputeHash() != e.Hash {
			return out, &evidence.Problem{Where: where + " seal n=" + fmt.Sprint(e.N), What: evidence.Changed, Detail: "the seal entry does not hash to its hash"}
		}
		if e.Kind != evidence.KindIncident || e.Ref != evidence.IncidentRef(r.ID, r.Version) {
			return out, &evidence.Problem{Where: where, What: evidence.Changed, Detail: fmt.Sprintf("its seal n=%d seals %s:%s", e.N, e.Kind, e.Ref)}
		}
		if e.N > out.Head.N {
			return out, &evidence.Problem{Where: where, What: evidence.Added, Detail: fmt.Sprintf("its seal n=%d is after the head n=%d", e.N, out.Head.N)}
		}
		doc, err := Canonical(r.Incident)
		if err != nil {
			return out, &evidence.Problem{Where: where, What: evidence.NotDocumented, Detail: err.Error()}
		}
		if d := evidence.Digest(sha256.Sum256(doc)); d != e.Digest {
			return out, &evidence.Problem{Where: where, What: evidence.Changed, Detail: fmt.Sprintf("its canonical JSON digests to %s, seal n=%d says %s", d.Short(), e.N, e.Digest.Short())}
		}
		out.Seals = append(out.Seals, e)
	}
	out.Entries = len(out.Seals)
	if unsealed > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d records not sealed yet when exported: not checked", unsealed))
	}
	out.Notes = append(out.Notes, "offline, the seals' link to the head is not checked: give --redis (or --config) to compare them with the live chain")
	return out, nil
}
