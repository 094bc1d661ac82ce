package evidence

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestVerifyUntouched(t *testing.T) {
	d := fixture(t)
	pub := testKey().Public().(ed25519.PublicKey)
	res, err := Verify(encode(t, d), pub)
	if err != nil {
		t.Fatalf("untouched export: %v", err)
	}
	want := "verified: 7 records, 6 chain entries, head n=12 hash=" + d.Head.Hash.String()
	if res.Summary() != want {
		t.Errorf("summary\n got %s\nwant %s", res.Summary(), want)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "good") }) {
		t.Errorf("notes %q: want the head's signature checked", res.Notes)
	}
	// No key given: verified, the signatures noted as not checked against
	// a trusted key.
	res, err = Verify(encode(t, d), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) != 2 {
		t.Errorf("notes without a key: %q", res.Notes)
	}
}

// TestVerifyTamper: every change to an export names the first bad entry.
func TestVerifyTamper(t *testing.T) {
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	cases := []struct {
		name   string
		tamper func(d *Doc)
		pub    ed25519.PublicKey
		where  string
		what   string
	}{
		{"one byte of a record", func(d *Doc) {
			d.Records[2].Raw = strings.Replace(d.Records[2].Raw, `"rtt_ms":4`, `"rtt_ms":5`, 1)
		}, nil, "record 3 (session:S1", Changed},
		{"one byte of an incident record", func(d *Doc) {
			d.Records[6].Raw = strings.Replace(d.Records[6].Raw, "resolved", "resolveD", 1)
		}, nil, "record 7 (incident:INC-000001@v3", Changed},
		{"one byte of a leaf digest", func(d *Doc) {
			s := d.Groups[0].Leaves[3].String()
			d.Groups[0].Leaves[3] = must(ParseDigest(flip(s, 10)))
		}, nil, "group session:S1", Changed},
		{"one byte of a chain entry's ref", func(d *Doc) { d.Chain[1].Ref = "S2" }, nil, "chain entry 2 (n=8)", Changed},
		{"one byte of a chain entry's digest", func(d *Doc) {
			d.Chain[2].Digest = must(ParseDigest(flip(d.Chain[2].Digest.String(), 0)))
		}, nil, "chain entry 3 (n=9)", Changed},
		{"a chain entry's count", func(d *Doc) { d.Chain[1].Count++ }, nil, "chain entry 2 (n=8)", Changed},
		{"a chain entry rehashed after a change", func(d *Doc) {
			d.Chain[1].Count++
			d.Chain[1].Hash = d.Chain[1].ComputeHash()
		}, nil, "chain entry 3 (n=9)", ChainBroken},
		{"a chain entry dropped", func(d *Doc) { d.Chain = slices.Delete(d.Chain, 2, 3) }, nil, "chain entry n=9", Removed},
		{"a chain entry inserted", func(d *Doc) { d.Chain = slices.Insert(d.Chain, 2, d.Chain[1]) }, nil, "chain entry 3 (n=8)", Added},
		{"chain entries swapped", func(d *Doc) { d.Chain[1], d.Chain[2] = d.Chain[2], d.Chain[1] }, nil, "chain entry n=8", Removed},
		{"the last chain entry dropped", func(d *Doc) { d.Chain = d.Chain[:len(d.Chain)-1] }, nil, "head", Changed},
		{"a record dropped", func(d *Doc) { d.Records = slices.Delete(d.Records, 3, 4) }, nil, "record 4", Removed},
		{"the last record dropped", func(d *Doc) { d.Records = d.Records[:len(d.Records)-1] }, nil, "record 7", Removed},
		{"a record dropped and renumbered", func(d *Doc) {
			d.Records = slices.Delete(d.Records, 3, 4)
			for i := range d.Records {
				d.Records[i].N = i + 1
			}
		}, nil, "record 7", Removed},
		{"a record inserted (a copy)", func(d *Doc) {
			d.Records = slices.Insert(d.Records, 2, d.Records[1])
		}, nil, "record 3", Added},
		{"a record inserted and renumbered", func(d *Doc) {
			r := d.Records[1]
			r.Raw = strings.Replace(r.Raw, `"connected":true`, `"connected":false`, 1)
			d.Records = slices.Insert(d.Records, 2, r)
			for i := range d.Records {
				d.Records[i].N = i + 1
			}
			d.RecordCount++
		}, nil, "record 3 (session:S1", Added},
		{"a record appended", func(d *Doc) {
			r := d.Records[0]
			r.N = len(d.Records) + 1
			d.Records = append(d.Records, r)
		}, nil, "record 8", Added},
		{"a record of no sealed group", func(d *Doc) { d.Records[0].Group = "session:S9" }, nil, "record 1", Added},
		{"records reordered", func(d *Doc) { d.Records[1], d.Records[2] = d.Records[2], d.Records[1] }, nil, "record 2", Reordered},
		{"records reordered and renumbered", func(d *Doc) {
			d.Records[1], d.Records[2] = d.Records[2], d.Records[1]
			d.Records[1].N, d.Records[2].N = 2, 3
		}, nil, "", ""}, // the same records in another order: still true
		{"a record's leaf moved", func(d *Doc) { d.Records[0].Leaf++ }, nil, "record 1 (session:S1", Changed},
		{"the head's hash", func(d *Doc) { d.Head.Hash = d.Chain[2].Hash }, nil, "head", Changed},
		{"the head's n", func(d *Doc) { d.Head.N-- }, nil, "head", Changed},
		{"the head's signature", func(d *Doc) { d.Head.Signature[5] ^= 1 }, nil, "head", SignatureBad},
		{"the head signed with another key", func(d *Doc) {
			*d = *withHead(d, SignHead(d.Head, other))
		}, testKey().Public().(ed25519.PublicKey), "head", SignatureBad},
		{"a period's signature, rehashed", func(d *Doc) {
			e := &d.Chain[4]
			e.Signature[0] ^= 1
			rehash(d, 4)
		}, testKey().Public().(ed25519.PublicKey), "chain entry n=11 (period 2026-11-01)", SignatureBad},
		{"a group sealed with an older seal", func(d *Doc) { d.Groups[0].Seal = 7 }, nil, "group session:S1", Changed},
		{"a group's seal outside the file", func(d *Doc) { d.Groups[0].Seal = 3 }, nil, "group session:S1", Removed},
		{"a group's leaf dropped", func(d *Doc) { d.Groups[0].Leaves = d.Groups[0].Leaves[1:] }, nil, "group session:S1", Changed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := clone(t, fixture(t))
			c.tamper(d)
			_, err := Verify(encode(t, d), c.pub)
			if c.what == "" {
				if err != nil {
					t.Fatalf("want verified, got %v", err)
				}
				return
			}
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("want a Problem, got %v", err)
			}
			if !strings.HasPrefix(p.Where, c.where) || p.What != c.what {
				t.Errorf("got %q\nwant where %q…, what %q", err, c.where, c.what)
			}
		})
	}
}

func withHead(d *Doc, h Head) *Doc { d.Head = h; return d }

// rehash recomputes the hashes from entry i on, as a forger would.
func rehash(d *Doc, i int) {
	for ; i < len(d.Chain); i++ {
		if i > 0 {
			d.Chain[i].Prev = d.Chain[i-1].Hash
		}
		d.Chain[i].Hash = d.Chain[i].ComputeHash()
	}
	d.Head.N, d.Head.Hash = d.Chain[len(d.Chain)-1].N, d.Chain[len(d.Chain)-1].Hash
	d.Head = SignHead(d.Head, testKey())
}

func TestDecodeRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":         ``,
		"not json":      `hello`,
		"wrong format":  `{"format":"bidwatch-evidence/9"}`,
		"unknown field": `{"format":"bidwatch-evidence/1","extra":1}`,
		"trailing":      `{"format":"bidwatch-evidence/1"} {}`,
		"bad digest":    `{"format":"bidwatch-evidence/1","head":{"n":1,"hash":"zz"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Verify([]byte(in), nil); !errors.Is(err, ErrNotEvidence) {
				t.Errorf("got %v, want ErrNotEvidence", err)
			}
		})
	}
}
