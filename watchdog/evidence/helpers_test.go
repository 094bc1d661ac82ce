package evidence

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/sample"
)

// t0 is a bid opening's first window: 2026-11-02 10:00 in Asia/Shanghai.
var t0 = time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)

// rawSample is the wire JSON of one Sample of session in room, from a
// location's participant, at t0 + seq-1 seconds.
func rawSample(t testing.TB, session, room, location string, tr sample.Transport, participant string, seq uint64) []byte {
	t.Helper()
	s := sample.Sample{
		Probe: "probe-" + location, Location: location, Session: session, Room: room, Transport: tr,
		Participant: participant, Seq: seq, WindowStart: t0.Add(time.Duration(seq-1) * time.Second), WindowMS: 1000,
		Connected: true, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: 40 + float64(seq%7), RTTMaxMS: 60,
	}
	b, err := bus.EncodeSample(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testKey is a fixed Ed25519 key.
func testKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	return ed25519.NewKeyFromSeed(seed)
}

// fixture is an export made without Redis: a session "S1" of 8 Samples
// (two participants × 4) of which 5 are exported, an incident version, a
// patrol hour, and a signed period — the chain: an older entry, the
// session's seal, the incident's, the patrol's, the period, another.
func fixture(t testing.TB) *Doc {
	t.Helper()
	key := testKey()
	at := t0.Add(time.Hour)
	var raws [][]byte
	var leaves []Leaf
	for _, p := range []string{"hall-1/ws-1/a.1", "hall-1/webrtc-1/a.1"} {
		for seq := uint64(1); seq <= 4; seq++ {
			b := rawSample(t, "S1", "hall-1", "gaoyou", sample.TransportWS, p, seq)
			raws = append(raws, b)
			leaves = append(leaves, LeafOf(b))
		}
	}
	leaves = SortLeaves(leaves)
	patrol := rawSample(t, "", "hall-2", "gaoyou", sample.TransportWS, "hall-2/ws-1/a.2", 1)
	inc := []byte(`{"id":"INC-000001","version":3,"state":"resolved"}`)

	var chain []Entry
	add := func(d Draft, k ed25519.PrivateKey) Entry {
		var h Head
		if len(chain) > 0 {
			h = HeadOf(chain[len(chain)-1])
		} else {
			h = Head{N: 6, Hash: sha256Sum([]byte("entries before the export"))}
		}
		e := Next(h, d, at.Add(time.Duration(len(chain))*time.Second), k)
		chain = append(chain, e)
		return e
	}
	add(Draft{Kind: KindIncident, Ref: "INC-000000@v1", Digest: sha256Sum([]byte("x")), Count: 1}, nil)
	ses := add(Draft{Kind: KindSession, Ref: "S1", Digest: GroupHead(KindSession, "S1", Digests(leaves)), Count: int64(len(leaves))}, nil)
	ie := add(Draft{Kind: KindIncident, Ref: "INC-000001@v3", Digest: sha256Sum(inc), Count: 1}, nil)
	pl := []Digest{sha256Sum(patrol)}
	pe := add(Draft{Kind: KindPatrol, Ref: "hall-2@2026110202", Digest: GroupHead(KindPatrol, "hall-2@2026110202", pl), Count: 1}, nil)
	last := chain[len(chain)-1]
	add(Draft{Kind: KindPeriod, Ref: "2026-11-01", Digest: last.Hash, Count: last.N}, key)
	add(Draft{Kind: KindIncident, Ref: "INC-000002@v1", Digest: sha256Sum([]byte("y")), Count: 1}, nil)

	doc := &Doc{Format: Format, Created: at.Add(time.Minute), Subject: "test"}
	doc.Groups = []GroupLeaves{
		{Kind: KindSession, Ref: "S1", Seal: ses.N, Leaves: Digests(leaves)},
		{Kind: KindIncident, Ref: "INC-000001@v3", Seal: ie.N, Leaves: []Digest{sha256Sum(inc)}},
		{Kind: KindPatrol, Ref: "hall-2@2026110202", Seal: pe.N, Leaves: pl},
	}
	idx := map[Digest]int{}
	for i, l := range leaves {
		idx[l.Digest] = i
	}
	for _, b := range raws[1:6] {
		doc.Records = append(doc.Records, Record{N: len(doc.Records) + 1, Kind: RecordSample, Group: "session:S1", Leaf: idx[sha256Sum(b)], Raw: string(b)})
	}
	doc.Records = append(doc.Records, Record{N: len(doc.Records) + 1, Kind: RecordSample, Group: "patrol:hall-2@2026110202", Leaf: 0, Raw: string(patrol)})
	doc.Records = append(doc.Records, Record{N: len(doc.Records) + 1, Kind: RecordIncident, Group: "incident:INC-000001@v3", Leaf: 0, Raw: string(inc)})
	doc.RecordCount = len(doc.Records)
	doc.Chain = chain
	doc.Head = SignHead(Head{N: chain[len(chain)-1].N, Hash: chain[len(chain)-1].Hash, At: doc.Created}, key)
	return doc
}

// encode is the document's JSON, as an export writes it.
func encode(t testing.TB, d *Doc) []byte {
	t.Helper()
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func clone(t testing.TB, d *Doc) *Doc {
	t.Helper()
	var c Doc
	if err := json.Unmarshal(encode(t, d), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// flip changes one byte of s (at i), keeping it printable.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == '4' {
		b[i] = '5'
	} else {
		b[i] = '4'
	}
	return string(b)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return v
}
