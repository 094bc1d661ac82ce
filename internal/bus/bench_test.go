package bus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

// BenchmarkPublish measures bus.Publish into a private redis-server: batches
// of 1,024 Samples (the publisher's batch), 1,000 participants interleaved,
// one pipelined round trip per batch. Reports samples/s.
func BenchmarkPublish(b *testing.B) {
	srv := bustest.StartRedis(b)
	bus, err := Open(context.Background(), Options{URL: srv.URL(), Prefix: "bench:"})
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
	benchPublish(b, bus)
}

// benchPublish publishes batches of 1,024 Samples of 1,000 participants
// through bus and reports samples/s.
func benchPublish(b *testing.B, bus *Bus) {
	ctx := context.Background()
	if err := bus.LoadScripts(ctx); err != nil {
		b.Fatal(err)
	}
	const batch, participants = 1024, 1000
	template := make([]Entry, 0, batch)
	for i := range batch {
		s := testSample(fmt.Sprintf("hall-%d/ws-1/bench.%d", i%participants, i%participants), 1)
		e, err := NewEntry(s)
		if err != nil {
			b.Fatal(err)
		}
		template = append(template, e)
	}
	seq := uint64(0)
	entries := make([]Entry, batch)
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		seq++
		for i := range entries {
			entries[i] = template[i]
			entries[i].Seq = seq*2 + uint64(i/participants) // rising per participant
		}
		res, err := bus.Publish(ctx, entries)
		if err != nil {
			b.Fatal(err)
		}
		if res.Added != batch {
			b.Fatalf("added %d of %d", res.Added, batch)
		}
		n += batch
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "samples/s")
}
