package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Format names the export format and starts every hashed encoding, so a
// digest from this chain is never mistaken for one of anything else.
const Format = "bidwatch-evidence/1"

// The kinds of chain entries.
const (
	KindSession  = "session"
	KindPatrol   = "patrol"
	KindIncident = "incident"
	KindPeriod   = "period"
)

// Kinds are the entry kinds, in the order docs/evidence.md lists them.
var Kinds = []string{KindSession, KindPatrol, KindIncident, KindPeriod}

// Digest is a SHA-256 digest; it reads and writes as lower-case hex.
type Digest [sha256.Size]byte

// String is the digest in hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Short is the first 12 hex digits, for tables.
func (d Digest) Short() string { return d.String()[:12] }

// IsZero reports whether d is all zero: the prev of the chain's first entry.
func (d Digest) IsZero() bool { return d == Digest{} }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: 64 hex digits.
func (d *Digest) UnmarshalText(b []byte) error {
	p, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// ParseDigest reads 64 hex digits.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*len(d) {
		return d, fmt.Errorf("digest %q: want %d hex digits, got %d", clip(s), 2*len(d), len(s))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("digest %q: not hex", clip(s))
	}
	return d, nil
}

// Entry is one link of the chain. Hash is SHA-256 over Prev and the
// canonical encoding of every other field (Canonical), the signature
// included: removing or changing any of them breaks the entry.
type Entry struct {
	// N numbers the entries from 1, without gaps.
	N int64 `json:"n"`
	// At is when the entry was appended (the leader's clock, to the ms).
	At time.Time `json:"at"`
	// Kind is session, patrol, incident or period.
	Kind string `json:"kind"`
	// Ref names what was sealed: a session id, "<room>@<YYYYMMDDHH>" for a
	// patrol hour, "<incident id>@v<version>", or a day "YYYY-MM-DD".
	Ref string `json:"ref"`
	// Digest is the sealed content's digest: a group's head over its
	// leaves (session, patrol), the SHA-256 of an incident version's
	// canonical JSON, or the chain head a period closed on.
	Digest Digest `json:"digest"`
	// Count is how many Samples a session or patrol seal covers, 1 for an
	// incident version, the chain's length for a period.
	Count int64 `json:"count"`
	// Prev is the previous entry's Hash (zero for the first entry).
	Prev Digest `json:"prev"`
	// Hash is this entry's hash.
	Hash Digest `json:"hash"`
	// KeyID and Signature: a period signed with reports.signing_key: the
	// key's id (KeyID) and the Ed25519 signature of SigningMessage.
	KeyID     string `json:"key_id,omitempty"`
	Signature []byte `json:"signature,omitempty"`
}

// Head is the chain's newest entry, as exports and reports carry it.
type Head struct {
	N    int64  `json:"n"`
	Hash Digest `json:"hash"`
	// At is when the head was read (an export's time), not the entry's.
	At time.Time `json:"at,omitzero"`
	// KeyID, PublicKey and Signature: the head signed by the exporter
	// (SigningMessage of kind "head"), when it held the key.
	KeyID     string `json:"key_id,omitempty"`
	PublicKey []byte `json:"public_key,omitempty"`
	Signature []byte `json:"signature,omitempty"`
}

// String is "n=… hash=…".
func (h Head) String() string { return fmt.Sprintf("n=%d hash=%s", h.N, h.Hash) }

// HeadOf is the head an entry makes.
func HeadOf(e Entry) Head { return Head{N: e.N, Hash: e.Hash} }

// Draft is what a caller wants sealed; Next makes it an entry.
type Draft struct {
	Kind   string
	Ref    string
	Digest Digest
	Count  int64
}

// Next makes the entry that follows head (N = head.N + 1, Prev =
// head.Hash; a zero head starts the chain) for draft at time at (truncated
// to the ms, as its JSON keeps it), signed with key for a period when key
// is not nil.
func Next(head Head, d Draft, at time.Time, key ed25519.PrivateKey) Entry {
	e := Entry{N: head.N + 1, At: at.UTC().Truncate(time.Millisecond), Kind: d.Kind, Ref: d.Ref, Digest: d.Digest, Count: d.Count, Prev: head.Hash}
	if key != nil && d.Kind == KindPeriod {
		e.KeyID = KeyID(key.Public().(ed25519.PublicKey))
		e.Signature = ed25519.Sign(key, SigningMessage(e))
	}
	e.Hash = e.ComputeHash()
	return e
}

// ComputeHash is SHA-256(Prev ‖ Canonical(e)).
func (e Entry) ComputeHash() Digest {
	h := sha256.New()
	h.Write(e.Prev[:])
	h.Write(e.Canonical())
	var d Digest
	h.Sum(d[:0])
	return d
}

// Canonical is the entry's fields other than Prev and Hash in one
// unambiguous encoding: the format name, then each field as
// "<length>:<bytes>," (a netstring), in the order n, at (Unix ms), kind,
// ref, digest (hex), count, key_id, signature (hex).
func (e Entry) Canonical() []byte {
	var b bytes.Buffer
	b.Grow(256)
	for _, f := range []string{
		Format, strconv.FormatInt(e.N, 10), strconv.FormatInt(e.At.UnixMilli(), 10), e.Kind, e.Ref,
		e.Digest.String(), strconv.FormatInt(e.Count, 10), e.KeyID, hex.EncodeToString(e.Signature),
	} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte(',')
	}
	return b.Bytes()
}

// SigningMessage is what a period entry's signature signs: its canonical
// encoding without the signature, after Prev (so the signature covers the
// whole chain before it).
func SigningMessage(e Entry) []byte {
	e.Signature = nil
	return append(append([]byte("sign "), e.Prev[:]...), e.Canonical()...)
}

// HeadMessage is what an exporter's signature over a head signs.
func HeadMessage(h Head) []byte {
	return fmt.Appendf(nil, "%s head %d %s %d", Format, h.N, h.Hash, h.At.UnixMilli())
}

// SignHead signs h (at its At) with key.
func SignHead(h Head, key ed25519.PrivateKey) Head {
	pub := key.Public().(ed25519.PublicKey)
	h.At = h.At.UTC().Truncate(time.Millisecond)
	h.KeyID, h.PublicKey = KeyID(pub), []byte(pub)
	h.Signature = ed25519.Sign(key, HeadMessage(h))
	return h
}

// KeyID names a public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// Signature problems.
var (
	ErrNoSignature  = errors.New("not signed")
	ErrOtherKey     = errors.New("signed by another key")
	ErrBadSignature = errors.New("signature wrong")
)

// CheckEntrySignature checks a signed entry against pub.
func CheckEntrySignature(e Entry, pub ed25519.PublicKey) error {
	return checkSig(e.KeyID, e.Signature, SigningMessage(e), pub)
}

// CheckHeadSignature checks a signed head against pub.
func CheckHeadSignature(h Head, pub ed25519.PublicKey) error {
	return checkSig(h.KeyID, h.Signature, HeadMessage(h), pub)
}

func checkSig(keyID string, sig, msg []byte, pub ed25519.PublicKey) error {
	if len(sig) == 0 {
		return ErrNoSignature
	}
	if keyID != KeyID(pub) {
		return fmt.Errorf("%w: key id %s, the given key's is %s", ErrOtherKey, keyID, KeyID(pub))
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, msg, sig) {
		return ErrBadSignature
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
