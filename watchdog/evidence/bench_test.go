package evidence

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// benchRaws are an hour of one room's Samples: 6 participants × 600 s.
func benchRaws(b *testing.B) [][]byte {
	var raws [][]byte
	for p := range 6 {
		for seq := uint64(1); seq <= 600; seq++ {
			raws = append(raws, rawSample(b, "S-bench", "hall-1", fmt.Sprintf("loc-%d", p%3), sample.TransportWebRTC, fmt.Sprintf("hall-1/webrtc-%d/a.1", p), seq))
		}
	}
	return raws
}

// BenchmarkSealPerSample is the sealing cost of one Sample, amortised over
// sessions of 3,600: its leaf (identity read, SHA-256 of ~400 bytes), its
// share of the sort and its step of the group chain. The sealer runs this
// on the leader, off the ingest path; a core seals 1e9/(ns/op) Samples a
// second, to compare with the 50,000 a replica ingests.
func BenchmarkSealPerSample(b *testing.B) {
	raws := benchRaws(b)
	leaves := make([]Leaf, 0, len(raws))
	b.ReportAllocs()
	b.ResetTimer()
	var sink Digest
	for i := 0; i < b.N; i++ {
		leaves = append(leaves, LeafOf(raws[i%len(raws)]))
		if len(leaves) == len(raws) || i == b.N-1 {
			sink = GroupHead(KindSession, "S-bench", Digests(SortLeaves(leaves)))
			leaves = leaves[:0]
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	_ = sink
}

// BenchmarkSealGroupRedis seals a session of 3,600 Samples from a real
// redis-server's raw archive (read, leaves, sort, chain, the append
// script); ns/sample is the whole cost per Sample.
func BenchmarkSealGroupRedis(b *testing.B) {
	rdb := testRedisB(b)
	raws := benchRaws(b)
	ctx := context.Background()
	key := prefix + "raw:hall-1:" + t0.Format(HourLayout)
	vals := make([]any, len(raws))
	for i, r := range raws {
		vals[i] = r
	}
	if err := rdb.RPush(ctx, key, vals...).Err(); err != nil {
		b.Fatal(err)
	}
	s, err := NewSealer(SealerOptions{Redis: rdb, Prefix: prefix, Rooms: []string{"hall-1"}})
	if err != nil {
		b.Fatal(err)
	}
	g := Group{Kind: KindSession, Ref: "S-bench"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.SealGroup(ctx, g, []string{"raw:hall-1:" + t0.Format(HourLayout)}, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(raws)), "ns/sample")
}

// BenchmarkVerify checks an export of 3,600 Samples (MB/s of the file,
// records/s).
func BenchmarkVerify(b *testing.B) {
	raws := benchRaws(b)
	ls := make([]Leaf, len(raws))
	for i, r := range raws {
		ls[i] = LeafOf(r)
	}
	ls = SortLeaves(ls)
	idx := map[Digest]int{}
	for i, l := range ls {
		idx[l.Digest] = i
	}
	e := Next(Head{}, Draft{Kind: KindSession, Ref: "S-bench", Digest: GroupHead(KindSession, "S-bench", Digests(ls)), Count: int64(len(ls))}, t0, nil)
	d := &Doc{Format: Format, Created: t0.Add(time.Hour), Chain: []Entry{e}, Head: HeadOf(e),
		Groups: []GroupLeaves{{Kind: KindSession, Ref: "S-bench", Seal: 1, Leaves: Digests(ls)}}}
	for _, r := range raws {
		d.Records = append(d.Records, Record{N: len(d.Records) + 1, Kind: RecordSample, Group: "session:S-bench", Leaf: idx[sha256Sum(r)], Raw: string(r)})
	}
	d.RecordCount = len(d.Records)
	data, err := json.Marshal(d)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Verify(data, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*len(raws))/b.Elapsed().Seconds(), "records/s")
}
