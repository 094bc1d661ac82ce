package evidence

import (
	"crypto/ed25519"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

func TestSortLeaves(t *testing.T) {
	d := func(s string) Digest { return sha256.Sum256([]byte(s)) }
	a1, a2, b1 := Leaf{"a", 1, d("a1")}, Leaf{"a", 2, d("a2")}, Leaf{"b", 1, d("b1")}
	a1x := Leaf{"a", 1, d("a1 again, other bytes")}
	cases := []struct {
		name string
		in   []Leaf
		want []Leaf
	}{
		{"empty", nil, nil},
		{"by participant then seq", []Leaf{b1, a2, a1}, []Leaf{a1, a2, b1}},
		{"a duplicate collapsed", []Leaf{a2, a1, a2, b1, a1}, []Leaf{a1, a2, b1}},
		{"same seq, other bytes: both kept, by digest", []Leaf{a1x, a1}, sortedByDigest(a1, a1x)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := SortLeaves(slices.Clone(c.in))
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	// The order does not depend on the order read.
	in := []Leaf{b1, a2, a1, a1x}
	first := GroupHead(KindSession, "S", Digests(SortLeaves(slices.Clone(in))))
	slices.Reverse(in)
	if got := GroupHead(KindSession, "S", Digests(SortLeaves(in))); got != first {
		t.Error("the group head depends on the order the Samples were read")
	}
}

func sortedByDigest(a, b Leaf) []Leaf {
	if string(a.Digest[:]) < string(b.Digest[:]) {
		return []Leaf{a, b}
	}
	return []Leaf{b, a}
}

func TestGroupHead(t *testing.T) {
	x, y := Digest(sha256.Sum256([]byte("x"))), Digest(sha256.Sum256([]byte("y")))
	base := GroupHead(KindSession, "S1", []Digest{x, y})
	for name, other := range map[string]Digest{
		"another session":  GroupHead(KindSession, "S2", []Digest{x, y}),
		"a patrol":         GroupHead(KindPatrol, "S1", []Digest{x, y}),
		"another order":    GroupHead(KindSession, "S1", []Digest{y, x}),
		"a leaf removed":   GroupHead(KindSession, "S1", []Digest{x}),
		"a leaf added":     GroupHead(KindSession, "S1", []Digest{x, y, y}),
		"no leaves at all": GroupHead(KindSession, "S1", nil),
	} {
		if other == base {
			t.Errorf("%s: same head", name)
		}
	}
	if _, err := GroupDigest(KindIncident, "I@v1", []Digest{x, y}); err == nil {
		t.Error("an incident version of two leaves: want an error")
	}
	if got, _ := GroupDigest(KindIncident, "I@v1", []Digest{x}); got != x {
		t.Error("an incident version's digest is its one leaf")
	}
}

func TestEntryHash(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 0, 0, 123456789, time.UTC)
	e := Next(Head{}, Draft{Kind: KindSession, Ref: "S1", Digest: sha256.Sum256([]byte("x")), Count: 3}, at, nil)
	if e.N != 1 || !e.Prev.IsZero() || !e.At.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("first entry %+v", e)
	}
	if e.Hash != e.ComputeHash() {
		t.Fatal("hash does not recompute")
	}
	// Netstrings keep fields apart: moving a byte from one field to the
	// next changes the hash.
	a := Entry{Kind: "session", Ref: "S1"}
	b := Entry{Kind: "sessio", Ref: "nS1"}
	if a.ComputeHash() == b.ComputeHash() {
		t.Error("kind|ref boundary is ambiguous")
	}
	// Signing: only periods.
	key := testKey()
	s := Next(HeadOf(e), Draft{Kind: KindSession, Ref: "S2"}, at, key)
	if len(s.Signature) != 0 {
		t.Error("a session seal was signed")
	}
	p := Next(HeadOf(e), Draft{Kind: KindPeriod, Ref: "2026-11-01", Digest: e.Hash, Count: 1}, at, key)
	if err := CheckEntrySignature(p, key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	p.Prev[0] ^= 1
	if err := CheckEntrySignature(p, key.Public().(ed25519.PublicKey)); err == nil {
		t.Error("the signature does not cover prev")
	}
}

func TestReady(t *testing.T) {
	tm := Timing{Quiet: 5 * time.Minute, Grace: 2 * time.Minute}
	hour := time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)
	open := func(last time.Time) Open { return Open{Last: last.UnixMilli()} }
	ses := Group{Kind: KindSession, Ref: "S1"}
	pat := Group{Kind: KindPatrol, Ref: "hall-1@2026110202"}
	cases := []struct {
		name string
		g    Group
		o    Open
		now  time.Time
		want bool
	}{
		{"session still sending", ses, open(hour), hour.Add(time.Minute), false},
		{"session quiet just short", ses, open(hour), hour.Add(5*time.Minute - time.Millisecond), false},
		{"session quiet", ses, open(hour), hour.Add(5 * time.Minute), true},
		{"patrol hour not over", pat, open(hour.Add(10 * time.Minute)), hour.Add(59 * time.Minute), false},
		{"patrol hour over, within grace", pat, open(hour.Add(10 * time.Minute)), hour.Add(61 * time.Minute), false},
		{"patrol hour over, grace passed", pat, open(hour.Add(10 * time.Minute)), hour.Add(62 * time.Minute), true},
		{"patrol late Sample just seen", pat, open(hour.Add(3 * time.Hour)), hour.Add(3*time.Hour + time.Minute), false},
		{"patrol late Sample quiet", pat, open(hour.Add(3 * time.Hour)), hour.Add(3*time.Hour + 2*time.Minute), true},
		{"patrol ref unreadable", Group{Kind: KindPatrol, Ref: "x"}, open(hour), hour, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Ready(c.g, c.o, c.now, tm); got != c.want {
				t.Errorf("Ready = %v, want %v", got, c.want)
			}
		})
	}
}

func TestPeriodDue(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	cases := []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 11, 2, 15, 59, 0, 0, time.UTC), "2026-11-01"}, // 23:59 in Shanghai on the 2nd
		{time.Date(2026, 11, 2, 16, 0, 0, 0, time.UTC), "2026-11-02"},  // midnight: the 2nd has ended
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "2025-12-31"},
	}
	for _, c := range cases {
		if got := PeriodDue(c.now, sh); got != c.want {
			t.Errorf("PeriodDue(%s) = %s, want %s", c.now, got, c.want)
		}
	}
}

func TestGroupOfAndIdent(t *testing.T) {
	raw := rawSample(t, "S1", "hall-1", "gaoyou", sample.TransportWebRTC, "p", 7)
	id := Ident(raw)
	if id.Session != "S1" || id.Seq != 7 || id.Location != "gaoyou" || id.Transport != "webrtc" {
		t.Fatalf("ident %+v", id)
	}
	if g := GroupOf(id, "hall-1", "2026110202"); g != (Group{KindSession, "S1"}) {
		t.Errorf("session sample in %v", g)
	}
	if g := GroupOf(SampleIdent{}, "hall-1", "2026110202"); g != (Group{KindPatrol, "hall-1@2026110202"}) {
		t.Errorf("patrol sample in %v", g)
	}
	if id := Ident([]byte("not json")); id != (SampleIdent{}) {
		t.Errorf("garbage ident %+v", id)
	}
	if got := Hours(t0.Add(-90*time.Minute), t0); !slices.Equal(got, []string{"2026110200", "2026110201", "2026110202"}) {
		t.Errorf("Hours = %v", got)
	}
}
