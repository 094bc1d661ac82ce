package evidence

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

const prefix = "bidwatch:"

func testRedis(t *testing.T) redis.UniversalClient { return testRedisB(t) }

func testRedisB(t testing.TB) redis.UniversalClient {
	t.Helper()
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// archive RPUSHes raw Samples to the room's raw list of their hour, as
// the watchdog's consumer does.
func archive(t *testing.T, rdb redis.UniversalClient, room string, raws ...[]byte) {
	t.Helper()
	for _, b := range raws {
		key := prefix + rollup.KeyRaw + room + ":" + Ident(b).WindowStart.UTC().Format(HourLayout)
		if err := rdb.RPush(context.Background(), key, b).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func session(t *testing.T, id, room string, from, to uint64) [][]byte {
	var out [][]byte
	for _, loc := range []string{"gaoyou", "baoying"} {
		for seq := from; seq <= to; seq++ {
			out = append(out, rawSample(t, id, room, loc, sample.TransportWS, room+"/ws-1/"+loc+".1", seq))
		}
	}
	return out
}

func newTestSealer(t *testing.T, rdb redis.UniversalClient, clock clockwork.Clock, reg *prometheus.Registry, inc IncidentSource) *Sealer {
	t.Helper()
	s, err := NewSealer(SealerOptions{Redis: rdb, Prefix: prefix, Rooms: []string{"hall-1", "hall-2"}, Incidents: inc,
		Key: testKey(), Location: time.UTC, Timing: Timing{Quiet: 5 * time.Minute, Grace: 2 * time.Minute},
		Clock: clock, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func seal(t *testing.T, c *Chain, g Group) Seal {
	t.Helper()
	s, ok, err := c.Seal(context.Background(), g)
	if err != nil || !ok {
		t.Fatalf("seal of %s: %v %v", g, ok, err)
	}
	return s
}

// TestSealerSessionAndPatrol: a session is sealed once quiet, sealed again
// when late Samples arrive; a patrol hour once it has ended; the day once;
// the export of a window verifies and names the newest seal.
func TestSealerSessionAndPatrol(t *testing.T) {
	ctx := context.Background()
	rdb := testRedis(t)
	clock := clockwork.NewFakeClockAt(t0.Add(2 * time.Minute))
	reg := prometheus.NewRegistry()
	s := newTestSealer(t, rdb, clock, reg, nil)

	archive(t, rdb, "hall-1", session(t, "S1", "hall-1", 1, 120)...)
	archive(t, rdb, "hall-2", rawSample(t, "", "hall-2", "gaoyou", sample.TransportWS, "hall-2/ws-1/p.1", 1))
	if err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	// Only yesterday's period is sealed: the session is still sending.
	if h, _ := s.Chain().Head(ctx); h.N != 1 {
		t.Fatalf("head after the first pass: %v", h)
	}
	// The day before is closed, signed with the key.
	ents, err := s.Chain().Entries(ctx, 1, 1)
	if err != nil || len(ents) != 1 || ents[0].Kind != KindPeriod || ents[0].Ref != "2026-11-01" {
		t.Fatalf("first entry %+v %v", ents, err)
	}
	if err := CheckEntrySignature(ents[0], testKey().Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("period signature: %v", err)
	}
	if _, ok, _ := s.Chain().Seal(ctx, Group{KindSession, "S1"}); ok {
		t.Fatal("sealed a session that is not quiet")
	}
	clock.Advance(5 * time.Minute)
	if err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	first := seal(t, s.Chain(), Group{KindSession, "S1"})
	if first.Count != 240 {
		t.Errorf("session sealed over %d Samples, want 240", first.Count)
	}
	// Late Samples (a spool replayed) re-open it; the new seal supersedes.
	archive(t, rdb, "hall-1", session(t, "S1", "hall-1", 121, 125)...)
	archive(t, rdb, "hall-1", session(t, "S1", "hall-1", 1, 2)...) // duplicates: collapsed
	if err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := seal(t, s.Chain(), Group{KindSession, "S1"}); got.N != first.N {
		t.Fatal("re-sealed before quiet")
	}
	clock.Advance(5 * time.Minute)
	if err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	second := seal(t, s.Chain(), Group{KindSession, "S1"})
	if second.N <= first.N || second.Count != 250 {
		t.Errorf("re-seal %+v after %+v: want a newer seal over 250 Samples", second, first)
	}
	// The patrol hour (02:00 UTC) ends at 03:00, sealed 2 min later.
	if _, ok, _ := s.Chain().Seal(ctx, Group{KindPatrol, "hall-2@2026110202"}); ok {
		t.Fatal("patrol hour sealed before it ended")
	}
	clock.Advance(time.Hour)
	if err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	seal(t, s.Chain(), Group{KindPatrol, "hall-2@2026110202"})
	// Passes with nothing new append nothing.
	h1, _ := s.Chain().Head(ctx)
	for range 3 {
		clock.Advance(10 * time.Minute)
		if err := s.Pass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if h2, _ := s.Chain().Head(ctx); h2.N != h1.N {
		t.Errorf("idle passes appended: %v → %v", h1, h2)
	}
	if got := counter(t, s.m.samples); got != 240+250+1 {
		t.Errorf("samples sealed metric %v", got)
	}
	if got := counter(t, s.m.seals.WithLabelValues(KindPeriod)); got != 1 {
		t.Errorf("periods sealed %v, want 1", got)
	}

	// Export 10:00:30–10:01:30 (Shanghai) of hall-1: 60 s × 2 locations.
	x := NewExporter(rdb, prefix)
	doc, samples, err := x.Export(ctx, Window{Room: "hall-1", From: t0.Add(30 * time.Second), To: t0.Add(90 * time.Second)}, clock.Now(), testKey())
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Records) != 120 || len(samples) != 120 || len(doc.Unsealed) != 0 {
		t.Fatalf("export: %d records, %d samples, unsealed %q", len(doc.Records), len(samples), doc.Unsealed)
	}
	if doc.Groups[0].Seal != second.N || samples[0].Seal != second.N {
		t.Errorf("export uses seal %d, want the newest %d", doc.Groups[0].Seal, second.N)
	}
	data, _ := json.Marshal(doc)
	res, err := Verify(data, testKey().Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatalf("verify the export: %v", err)
	}
	t.Log(res.Summary())
}

// TestSealerUnsealedExport: Samples not sealed yet are listed, not
// exported as if they were.
func TestSealerUnsealedExport(t *testing.T) {
	ctx := context.Background()
	rdb := testRedis(t)
	archive(t, rdb, "hall-1", session(t, "S1", "hall-1", 1, 10)...)
	doc, samples, err := NewExporter(rdb, prefix).Export(ctx, Window{Room: "hall-1", From: t0, To: t0.Add(time.Minute)}, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 20 || len(doc.Records) != 0 || len(doc.Unsealed) != 1 || Describe(samples[0]) != "未封存" {
		t.Fatalf("samples %d, records %d, unsealed %q", len(samples), len(doc.Records), doc.Unsealed)
	}
	if _, err := Verify(must(json.Marshal(doc)), nil); err != nil {
		t.Errorf("an export of nothing sealed: %v", err)
	}
}

// TestChainRace: sealers appending at once never fork the chain.
func TestChainRace(t *testing.T) {
	ctx := context.Background()
	rdb := testRedis(t)
	const writers, each = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		c := NewChain(rdb, prefix)
		c.Tries = 1000
		wg.Go(func() {
			for i := range each {
				d := Draft{Kind: KindIncident, Ref: fmt.Sprintf("INC-%d@v%d", w, i), Digest: sha256Sum(fmt.Appendf(nil, "%d/%d", w, i)), Count: 1}
				if _, _, err := c.Append(ctx, t0, nil, nil, func(Head) Draft { return d }); err != nil {
					errs <- err
				}
			}
		})
	}
	// The same group sealed by two leaders at once: one entry.
	same := Draft{Kind: KindSession, Ref: "S1", Digest: sha256Sum([]byte("S1")), Count: 3}
	for range 2 {
		c := NewChain(rdb, prefix)
		c.Tries = 1000
		wg.Go(func() {
			if _, _, err := c.Append(ctx, t0, nil, nil, func(Head) Draft { return same }); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := NewChain(rdb, prefix)
	ents, err := c.Entries(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != writers*each+1 {
		t.Fatalf("%d entries, want %d", len(ents), writers*each+1)
	}
	if err := checkChain(ents); err != nil {
		t.Fatalf("forked: %v", err)
	}
	if h, _ := c.Head(ctx); h.Hash != ents[len(ents)-1].Hash {
		t.Errorf("head %v, last entry %v", h, HeadOf(ents[len(ents)-1]))
	}
}

// fakeIncidents sends the versions given, then waits for ctx.
type fakeIncidents struct {
	versions []Version
	from     chan string
}

func (f *fakeIncidents) Versions(ctx context.Context, from string) <-chan Version {
	f.from <- from
	out := make(chan Version)
	go func() {
		defer close(out)
		for _, v := range f.versions {
			if v.StreamID <= from && from != "0" {
				continue
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
		<-ctx.Done()
	}()
	return out
}

// TestSealerIncidents: every version is sealed once; a new leader resumes
// after the last sealed event.
func TestSealerIncidents(t *testing.T) {
	rdb := testRedis(t)
	clock := clockwork.NewFakeClockAt(t0)
	vs := []Version{
		{StreamID: "1-0", ID: "INC-000001", Version: 1, Doc: []byte(`{"id":"INC-000001","version":1}`)},
		{StreamID: "2-0", ID: "INC-000001", Version: 2, Doc: []byte(`{"id":"INC-000001","version":2}`)},
		{StreamID: "3-0", ID: "INC-000001", Version: 2, Doc: []byte(`{"id":"INC-000001","version":2}`)}, // read again
	}
	run := func(vs []Version) string {
		src := &fakeIncidents{versions: vs, from: make(chan string, 1)}
		s := newTestSealer(t, rdb, clock, prometheus.NewRegistry(), src)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.Run(ctx) }()
		from := <-src.from
		deadline := time.After(5 * time.Second)
		for {
			if id, _ := rdb.Get(ctx, prefix+KeyIncidents).Result(); id == vs[len(vs)-1].StreamID {
				break
			}
			select {
			case <-deadline:
				t.Fatal("the incident versions were not sealed within 5 s")
			case <-time.After(10 * time.Millisecond):
			}
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the sealer did not stop")
		}
		return from
	}
	if from := run(vs); from != "0" {
		t.Errorf("first leader started from %q", from)
	}
	vs = append(vs, Version{StreamID: "4-0", ID: "INC-000002", Version: 1, Doc: []byte(`{"id":"INC-000002","version":1}`)})
	if from := run(vs); from != "3-0" {
		t.Errorf("second leader started from %q, want after 3-0", from)
	}
	c := NewChain(rdb, prefix)
	for _, ref := range []string{"INC-000001@v1", "INC-000001@v2", "INC-000002@v1"} {
		seal(t, c, Group{KindIncident, ref})
	}
	// 3 versions and one period (sealed by the first leader only).
	if h, _ := c.Head(context.Background()); h.N != 4 {
		t.Errorf("head %v, want n=4", h)
	}
}

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
