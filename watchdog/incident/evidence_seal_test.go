package incident

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/evidence"
)

// fakeChain seals what it is given, in memory.
type fakeChain struct {
	head  evidence.Head
	seals map[evidence.Group]evidence.Entry
}

func (f *fakeChain) seal(t *testing.T, inc Incident) {
	t.Helper()
	doc, err := Canonical(inc)
	if err != nil {
		t.Fatal(err)
	}
	g := evidence.Group{Kind: evidence.KindIncident, Ref: evidence.IncidentRef(inc.ID, inc.Version)}
	e := evidence.Next(f.head, evidence.Draft{Kind: g.Kind, Ref: g.Ref, Digest: sha256.Sum256(doc), Count: 1}, t0, nil)
	f.head, f.seals[g] = evidence.HeadOf(e), e
}

func (f *fakeChain) Head(context.Context) (evidence.Head, error) { return f.head, nil }

func (f *fakeChain) SealEntries(_ context.Context, gs []evidence.Group) (map[evidence.Group]evidence.Entry, error) {
	out := map[evidence.Group]evidence.Entry{}
	for _, g := range gs {
		if e, ok := f.seals[g]; ok {
			out[g] = e
		}
	}
	return out, nil
}

func TestSealedJSONVerifies(t *testing.T) {
	incs := records(t)
	now := t0.Add(3 * time.Hour)
	chain := &fakeChain{seals: map[evidence.Group]evidence.Entry{}}
	for _, inc := range incs {
		chain.seal(t, inc)
	}
	s, err := ReadSeals(context.Background(), chain, incs)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteSealedJSON(&buf, incs, now, s); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if !IsRecordsJSON(data) {
		t.Fatal("not recognised as an incidents export")
	}
	res, err := VerifyJSON(data)
	if err != nil {
		t.Fatalf("untouched: %v", err)
	}
	if res.Records != len(incs) || len(res.Seals) != len(incs) || res.Head.N != int64(len(incs)) {
		t.Errorf("result %+v", res.Result)
	}

	tamper := []struct {
		name, old, new, where, what string
	}{
		{"the phenomenon", `"summary": "`, `"summary": "X`, "record 1", evidence.Changed},
		{"the seal's digest", `"digest": "`, `"digest": "0`, "record 1", evidence.NotDocumented}, // 65 hex digits: unreadable
		{"the head", `"hash": "` + chain.head.Hash.String()[:4], `"hash": "0000`, "record 2", evidence.Changed},
	}
	for _, c := range tamper {
		t.Run(c.name, func(t *testing.T) {
			bad := strings.Replace(string(data), c.old, c.new, 1)
			if bad == string(data) {
				t.Fatalf("%q not in the export", c.old)
			}
			_, err := VerifyJSON([]byte(bad))
			var p *evidence.Problem
			if c.what == evidence.NotDocumented {
				if !errors.Is(err, evidence.ErrNotEvidence) {
					t.Errorf("got %v, want unreadable", err)
				}
				return
			}
			if !errors.As(err, &p) || !strings.HasPrefix(p.Where, c.where) || p.What != c.what {
				t.Errorf("got %v, want %s: %s", err, c.where, c.what)
			}
		})
	}

	// A newer version, not sealed yet, is noted, not failed.
	incs[0].Version++
	s, _ = ReadSeals(context.Background(), chain, incs)
	buf.Reset()
	_ = WriteSealedJSON(&buf, incs, now, s)
	res, err = VerifyJSON(buf.Bytes())
	if err != nil || !strings.Contains(strings.Join(res.Notes, "\n"), "1 records not sealed yet") {
		t.Errorf("unsealed version: %v, notes %q", err, res.Notes)
	}
}

func TestCanonicalRoundTrip(t *testing.T) {
	for _, inc := range records(t) {
		a, _ := Canonical(inc)
		var back Record
		if err := json.Unmarshal(must2(json.Marshal(RecordOf(inc, t0))), &back); err != nil {
			t.Fatal(err)
		}
		b, _ := Canonical(back.Incident)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: canonical JSON changes through an export:\n%s\n%s", inc.ID, a, b)
		}
	}
}

func TestSealedCSVHead(t *testing.T) {
	var buf bytes.Buffer
	h := evidence.Head{N: 7, Hash: sha256.Sum256([]byte("x"))}
	if err := WriteSealedCSV(&buf, nil, t0, &Sealed{Head: h}); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(buf.String(), "\n")
	if first != CSVHeadPrefix+h.String() {
		t.Errorf("first line %q", first)
	}
}

func must2(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
