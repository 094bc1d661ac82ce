package evidence

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Leaf is one Sample in a sealed group: its digest (SHA-256 of its raw
// bytes) and the identity it is ordered by.
type Leaf struct {
	Participant string
	Seq         uint64
	Digest      Digest
}

// LeafOf digests one raw Sample and reads its identity. A record that is
// not a Sample's JSON still gets a leaf (ordered first), so nothing
// archived escapes the seal.
func LeafOf(raw []byte) Leaf {
	id := Ident(raw)
	return Leaf{Participant: id.Participant, Seq: id.Seq, Digest: sha256.Sum256(raw)}
}

// SampleIdent is what grouping and ordering need of a Sample.
type SampleIdent struct {
	Session     string    `json:"session"`
	Room        string    `json:"room"`
	Location    string    `json:"location"`
	Transport   string    `json:"transport"`
	Participant string    `json:"participant"`
	Seq         uint64    `json:"seq"`
	WindowStart time.Time `json:"window_start"`
}

// Ident reads a raw Sample's identity; a zero SampleIdent when it is not
// one.
func Ident(raw []byte) SampleIdent {
	var id SampleIdent
	if json.Unmarshal(raw, &id) != nil {
		return SampleIdent{}
	}
	return id
}

// SortLeaves puts leaves in seal order — by participant, then seq, then
// digest — and collapses duplicates (the same Sample archived twice, as a
// spool replay can), in place; it returns the shortened slice.
func SortLeaves(ls []Leaf) []Leaf {
	slices.SortFunc(ls, func(a, b Leaf) int {
		if c := cmp.Compare(a.Participant, b.Participant); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Seq, b.Seq); c != 0 {
			return c
		}
		return bytes.Compare(a.Digest[:], b.Digest[:])
	})
	return slices.CompactFunc(ls, func(a, b Leaf) bool {
		return a.Participant == b.Participant && a.Seq == b.Seq && a.Digest == b.Digest
	})
}

// Digests returns the leaves' digests in order.
func Digests(ls []Leaf) []Digest {
	out := make([]Digest, len(ls))
	for i, l := range ls {
		out[i] = l.Digest
	}
	return out
}

// GroupHead chains a group's leaf digests: h₀ = SHA-256(format ‖ kind ‖
// ref), hᵢ = SHA-256(hᵢ₋₁ ‖ dᵢ); the head is the last h. The group's name
// in h₀ keeps one session's leaves from passing for another's.
func GroupHead(kind, ref string, leaves []Digest) Digest {
	h := groupStart(kind, ref)
	var buf [2 * sha256.Size]byte
	for _, d := range leaves {
		copy(buf[:sha256.Size], h[:])
		copy(buf[sha256.Size:], d[:])
		h = sha256.Sum256(buf[:])
	}
	return h
}

func groupStart(kind, ref string) Digest {
	return sha256.Sum256(fmt.Appendf(nil, "%s group %d:%s,%d:%s,", Format, len(kind), kind, len(ref), ref))
}

// GroupDigest is the digest a seal of kind carries for these leaves: the
// group head for a session or patrol, the one leaf itself for an incident
// version.
func GroupDigest(kind, ref string, leaves []Digest) (Digest, error) {
	switch kind {
	case KindSession, KindPatrol:
		return GroupHead(kind, ref, leaves), nil
	case KindIncident:
		if len(leaves) != 1 {
			return Digest{}, fmt.Errorf("an incident version is one record, got %d leaves", len(leaves))
		}
		return leaves[0], nil
	}
	return Digest{}, fmt.Errorf("kind %q has no records", kind)
}

// Group names a sealed group: kind and ref, as its seal entry says.
type Group struct {
	Kind string `json:"kind"`
	Ref  string `json:"ref"`
}

// String is "kind:ref".
func (g Group) String() string { return g.Kind + ":" + g.Ref }

// HourLayout writes a UTC hour as the raw archive's keys do.
const HourLayout = "2006010215"

// GroupOf is the group a raw Sample of room's archive hour belongs to: its
// session, or the room's patrol hour when it has none (日常巡检).
func GroupOf(id SampleIdent, room, hour string) Group {
	if id.Session != "" {
		return Group{Kind: KindSession, Ref: id.Session}
	}
	return Group{Kind: KindPatrol, Ref: room + "@" + hour}
}

// IncidentRef is the ref of an incident version's seal.
func IncidentRef(id string, version int64) string { return fmt.Sprintf("%s@v%d", id, version) }
