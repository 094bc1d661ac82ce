package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Problem kinds: what Verify found wrong with the first bad entry.
const (
	Changed       = "changed"
	Removed       = "removed"
	Added         = "added"
	Reordered     = "reordered"
	ChainBroken   = "chain broken"
	SignatureBad  = "signature wrong"
	Superseded    = "superseded"
	NotDocumented = "malformed"
)

// Problem is the first bad entry Verify met: where (record 17, chain entry
// n=42, group session:S1, head), what (Changed, Removed, …) and the detail.
type Problem struct {
	Where  string
	What   string
	Detail string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%s: %s: %s", p.Where, p.What, p.Detail)
}

// ErrNotEvidence is returned (wrapped) for input that is not an export.
var ErrNotEvidence = errors.New("not a bidwatch evidence export")

// Result is what a verified export holds.
type Result struct {
	Records int
	Entries int
	Head    Head
	// Notes say what was not checked, or checked with a caveat (a
	// signature with no trusted key given).
	Notes []string
}

// Summary is "verified: N records, M chain entries, head n=… hash=…".
func (r Result) Summary() string {
	return fmt.Sprintf("verified: %d records, %d chain entries, head %s", r.Records, r.Entries, r.Head)
}

// maxDoc bounds an export Verify reads.
const maxDoc = 1 << 30

// Decode reads an export strictly: unknown fields, trailing data and a
// wrong format are errors.
func Decode(r io.Reader) (*Doc, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxDoc))
	dec.DisallowUnknownFields()
	var d Doc
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotEvidence, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the document", ErrNotEvidence)
	}
	if d.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrNotEvidence, clip(d.Format), Format)
	}
	return &d, nil
}

// Verify decodes an export and checks it (VerifyDoc).
func Verify(data []byte, pub ed25519.PublicKey) (Result, error) {
	d, err := Decode(bytes.NewReader(data))
	if err != nil {
		return Result{}, err
	}
	return VerifyDoc(d, pub)
}

// VerifyDoc recomputes an export: every chain entry's hash and its link to
// the one before, the head, the signatures (against pub when given), each
// group's leaves against its seal, and each record against its leaf, in
// that order. It returns the first bad entry as a *Problem.
func VerifyDoc(d *Doc, pub ed25519.PublicKey) (Result, error) {
	res := Result{Records: len(d.Records), Entries: len(d.Chain), Head: d.Head}
	if err := checkChain(d.Chain); err != nil {
		return res, err
	}
	if err := checkHead(d, pub, &res); err != nil {
		return res, err
	}
	byN := make(map[int64]int, len(d.Chain))
	for i, e := range d.Chain {
		byN[e.N] = i
	}
	groups := map[string]*GroupLeaves{}
	for i := range d.Groups {
		g := &d.Groups[i]
		if err := checkGroup(d, g, byN); err != nil {
			return res, err
		}
		if _, dup := groups[g.Name()]; dup {
			return res, &Problem{Where: "group " + g.Name(), What: Added, Detail: "the group appears twice"}
		}
		groups[g.Name()] = g
	}
	if err := checkRecords(d, groups); err != nil {
		return res, err
	}
	return res, nil
}

func checkChain(chain []Entry) error {
	for i, e := range chain {
		where := fmt.Sprintf("chain entry %d (n=%d)", i+1, e.N)
		if i == 0 && e.N == 1 && !e.Prev.IsZero() {
			return &Problem{Where: where, What: ChainBroken, Detail: "the first entry of the chain must have a zero prev"}
		}
		if i > 0 {
			p := chain[i-1]
			switch {
			case e.N > p.N+1:
				return &Problem{Where: fmt.Sprintf("chain entry n=%d", p.N+1), What: Removed,
					Detail: fmt.Sprintf("the chain jumps from n=%d to n=%d", p.N, e.N)}
			case e.N < p.N+1:
				what := Added
				if e.N < p.N {
					what = Reordered
				}
				return &Problem{Where: where, What: what, Detail: fmt.Sprintf("n=%d follows n=%d", e.N, p.N)}
			}
		}
		if h := e.ComputeHash(); h != e.Hash {
			return &Problem{Where: where, What: Changed,
				Detail: fmt.Sprintf("its content hashes to %s, the entry says %s", h.Short(), e.Hash.Short())}
		}
		if i > 0 && e.Prev != chain[i-1].Hash {
			return &Problem{Where: where, What: ChainBroken,
				Detail: fmt.Sprintf("its prev %s is not entry n=%d's hash %s", e.Prev.Short(), chain[i-1].N, chain[i-1].Hash.Short())}
		}
	}
	return nil
}

func checkHead(d *Doc, pub ed25519.PublicKey, res *Result) error {
	if len(d.Chain) == 0 {
		if d.Head.N != 0 || len(d.Records) > 0 || len(d.Groups) > 0 {
			return &Problem{Where: "chain", What: Removed, Detail: "the file holds no chain entries"}
		}
		return nil
	}
	last := d.Chain[len(d.Chain)-1]
	if d.Head.N != last.N || d.Head.Hash != last.Hash {
		return &Problem{Where: "head", What: Changed,
			Detail: fmt.Sprintf("the head says %s, the chain ends at n=%d hash=%s", d.Head, last.N, last.Hash)}
	}
	if len(d.Head.Signature) > 0 {
		key := pub
		trusted := key != nil
		if key == nil {
			key = ed25519.PublicKey(d.Head.PublicKey)
		}
		if len(key) != ed25519.PublicKeySize {
			return &Problem{Where: "head", What: SignatureBad, Detail: "the head is signed but carries no valid public key"}
		}
		if err := CheckHeadSignature(d.Head, key); err != nil {
			return &Problem{Where: "head", What: SignatureBad, Detail: err.Error()}
		}
		if trusted {
			res.Notes = append(res.Notes, fmt.Sprintf("head signed by key %s: good", d.Head.KeyID))
		} else {
			res.Notes = append(res.Notes, fmt.Sprintf("head signed by key %s, checked against the key the file carries only: give --pubkey to check it against a key you trust", d.Head.KeyID))
		}
	} else if pub != nil {
		res.Notes = append(res.Notes, "the head is not signed")
	}
	for _, e := range d.Chain {
		if e.Kind != KindPeriod || len(e.Signature) == 0 {
			continue
		}
		if pub == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("period %s (n=%d) is signed by key %s: not checked (no public key given)", e.Ref, e.N, e.KeyID))
			continue
		}
		err := CheckEntrySignature(e, pub)
		if errors.Is(err, ErrOtherKey) {
			res.Notes = append(res.Notes, fmt.Sprintf("period %s (n=%d): %v", e.Ref, e.N, err))
			continue
		}
		if err != nil {
			return &Problem{Where: fmt.Sprintf("chain entry n=%d (period %s)", e.N, e.Ref), What: SignatureBad, Detail: err.Error()}
		}
	}
	return nil
}

func checkGroup(d *Doc, g *GroupLeaves, byN map[int64]int) error {
	where := "group " + g.Name()
	i, ok := byN[g.Seal]
	if !ok {
		return &Problem{Where: where, What: Removed, Detail: fmt.Sprintf("its seal, entry n=%d, is not in the file's chain", g.Seal)}
	}
	e := d.Chain[i]
	if e.Kind != g.Kind || e.Ref != g.Ref {
		return &Problem{Where: where, What: Changed, Detail: fmt.Sprintf("entry n=%d seals %s:%s, not this group", e.N, e.Kind, e.Ref)}
	}
	for _, later := range d.Chain[i+1:] {
		if later.Kind == g.Kind && later.Ref == g.Ref {
			return &Problem{Where: where, What: Superseded, Detail: fmt.Sprintf("sealed again at n=%d; the file uses the older seal n=%d", later.N, e.N)}
		}
	}
	got, err := GroupDigest(g.Kind, g.Ref, g.Leaves)
	if err != nil {
		return &Problem{Where: where, What: NotDocumented, Detail: err.Error()}
	}
	countOK := g.Kind == KindIncident || int64(len(g.Leaves)) == e.Count
	if got != e.Digest || !countOK {
		return &Problem{Where: where, What: Changed,
			Detail: fmt.Sprintf("its %d leaf digests chain to %s, seal n=%d says %s over %d", len(g.Leaves), got.Short(), e.N, e.Digest.Short(), e.Count)}
	}
	return nil
}

func checkRecords(d *Doc, groups map[string]*GroupLeaves) error {
	seen := map[string]int{}
	for i, r := range d.Records {
		pos := i + 1
		where := fmt.Sprintf("record %d", pos)
		switch {
		case r.N > pos:
			if slices.ContainsFunc(d.Records[i+1:], func(o Record) bool { return o.N == pos }) {
				return &Problem{Where: where, What: Reordered, Detail: fmt.Sprintf("record %d is further down, record %d is here", pos, r.N)}
			}
			return &Problem{Where: where, What: Removed, Detail: fmt.Sprintf("the records jump from %d to %d", pos-1, r.N)}
		case r.N < pos:
			what := Added
			if i > 0 && r.N < d.Records[i-1].N {
				what = Reordered
			}
			return &Problem{Where: where, What: what, Detail: fmt.Sprintf("numbered %d, after record %d", r.N, pos-1)}
		}
		if pos > d.RecordCount {
			return &Problem{Where: where, What: Added, Detail: fmt.Sprintf("the file says it holds %d records", d.RecordCount)}
		}
		g, ok := groups[r.Group]
		if !ok {
			return &Problem{Where: where, What: Added, Detail: fmt.Sprintf("no sealed group %q in the file", clip(r.Group))}
		}
		where = fmt.Sprintf("record %d (%s, leaf %d)", pos, r.Group, r.Leaf)
		if want := recordKind(g.Kind); r.Kind != want {
			return &Problem{Where: where, What: Changed, Detail: fmt.Sprintf("kind %q, a %s group holds %q records", clip(r.Kind), g.Kind, want)}
		}
		if r.Leaf < 0 || r.Leaf >= len(g.Leaves) {
			return &Problem{Where: where, What: Added, Detail: fmt.Sprintf("the group has %d leaves", len(g.Leaves))}
		}
		key := fmt.Sprintf("%s#%d", r.Group, r.Leaf)
		if prev, dup := seen[key]; dup {
			return &Problem{Where: where, What: Added, Detail: fmt.Sprintf("record %d is that leaf already", prev)}
		}
		seen[key] = pos
		if got := Digest(sha256.Sum256([]byte(r.Raw))); got != g.Leaves[r.Leaf] {
			return &Problem{Where: where, What: Changed,
				Detail: fmt.Sprintf("its SHA-256 is %s, the sealed leaf is %s", got.Short(), g.Leaves[r.Leaf].Short())}
		}
	}
	if len(d.Records) < d.RecordCount {
		return &Problem{Where: fmt.Sprintf("record %d", len(d.Records)+1), What: Removed,
			Detail: fmt.Sprintf("the file says it holds %d records, it holds %d", d.RecordCount, len(d.Records))}
	}
	return nil
}

// recordKind is the kind of record a group of kind holds.
func recordKind(kind string) string {
	if kind == KindIncident {
		return RecordIncident
	}
	return RecordSample
}
