package bus

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

func entries(t testing.TB, participant string, from, to uint64) []Entry {
	t.Helper()
	var out []Entry
	for seq := from; seq <= to; seq++ {
		e, err := NewEntry(testSample(participant, seq))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// streamSeqs reads the stream and returns each participant's seqs in order.
func streamSeqs(t *testing.T, b *Bus) map[string][]uint64 {
	t.Helper()
	msgs, err := b.Client().XRange(context.Background(), b.Key(KeySamples), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]uint64{}
	for _, m := range msgs {
		s, err := DecodeSample(m.Values)
		if err != nil {
			t.Fatalf("entry %s: %v", m.ID, err)
		}
		out[s.Participant] = append(out[s.Participant], s.Seq)
	}
	return out
}

func TestPublishIdempotent(t *testing.T) {
	for _, be := range bustest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			b := openBus(t, be.URL, Options{Prefix: "t-pub:"})
			ctx := context.Background()

			// 300 samples of two participants, interleaved, spanning
			// several script calls in one pipeline.
			var batch []Entry
			a, c := entries(t, "a", 1, 150), entries(t, "c", 1, 150)
			for i := range a {
				batch = append(batch, a[i], c[i])
			}
			res, err := b.Publish(ctx, batch)
			if err != nil || res.Added != 300 || res.Skipped != 0 {
				t.Fatalf("Publish = %+v, %v", res, err)
			}
			// The same batch again (a retry after an unclear failure), then
			// an overlapping one: only the new entries are added.
			res, err = b.Publish(ctx, batch)
			if err != nil || res.Added != 0 || res.Skipped != 300 {
				t.Fatalf("replay: Publish = %+v, %v", res, err)
			}
			res, err = b.Publish(ctx, entries(t, "a", 140, 160))
			if err != nil || res.Added != 10 || res.Skipped != 11 {
				t.Fatalf("overlap: Publish = %+v, %v", res, err)
			}
			got := streamSeqs(t, b)
			for p, n := range map[string]int{"a": 160, "c": 150} {
				seqs := got[p]
				if len(seqs) != n {
					t.Fatalf("%s: %d samples, want %d", p, len(seqs), n)
				}
				for i, s := range seqs {
					if s != uint64(i+1) {
						t.Fatalf("%s: seq %d at %d: gap, duplicate or disorder", p, s, i)
					}
				}
			}
			// A participant of another probe with the same name is another
			// counter.
			other := entries(t, "a", 1, 1)
			other[0].Probe = "sc-2@host"
			if res, err := b.Publish(ctx, other); err != nil || res.Added != 1 {
				t.Fatalf("other probe: %+v, %v", res, err)
			}
		})
	}
}

func TestPublishReloadsScript(t *testing.T) {
	for _, be := range bustest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			b := openBus(t, be.URL, Options{Prefix: "t-noscript:"})
			ctx := context.Background()
			if _, err := b.Publish(ctx, entries(t, "a", 1, 2)); err != nil {
				t.Fatal(err)
			}
			if err := b.Client().ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			res, err := b.Publish(ctx, entries(t, "a", 1, 4))
			if err != nil || res.Added != 2 || res.Skipped != 2 {
				t.Fatalf("after SCRIPT FLUSH: %+v, %v", res, err)
			}
		})
	}
}

func TestPublishMaxLen(t *testing.T) {
	for _, be := range bustest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			b := openBus(t, be.URL, Options{Prefix: "t-maxlen:", MaxLen: 500})
			ctx := context.Background()
			for i := range 10 {
				if _, err := b.Publish(ctx, entries(t, fmt.Sprint("p", i), 1, 300)); err != nil {
					t.Fatal(err)
				}
			}
			n, err := b.Client().XLen(ctx, b.Key(KeySamples)).Result()
			if err != nil {
				t.Fatal(err)
			}
			// MAXLEN ~ trims whole macro nodes (100 entries by default).
			if n < 500 || n > 700 {
				t.Errorf("stream length %d after 3000 samples with MAXLEN ~ 500", n)
			}
		})
	}
}

func TestPublishUnreachable(t *testing.T) {
	b, err := Open(context.Background(), Options{URL: "redis://127.0.0.1:1?dial_timeout=200ms&max_retries=-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Publish(context.Background(), entries(t, "a", 1, 1)); err == nil {
		t.Fatal("publish to a closed port succeeded")
	}
	var _ redis.UniversalClient = b.Client()
}
