package watchdog

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/evidence"
)

// TestSealingThroughTheLeader: Samples published to the stream are
// archived by the consumer and sealed by the leader once the session has
// been quiet; an export of a minute of it verifies.
func TestSealingThroughTheLeader(t *testing.T) {
	ctx := context.Background()
	b := openBus(t, redisURL(t))
	city := fastCity(t, "")
	clock := newFakeClock()
	w := startWatchdog(t, Options{Config: city, Bus: b, Clock: clock, NoHealth: true, NoDispatch: true, NoRemedy: true})
	waitFor(t, 10*time.Second, "a leader", w.Leader)

	// Samples published as probes publish them: the consumer archives
	// them raw, the leader seals them.
	room := city.Rooms[0].ID
	start := clock.Now().Add(-3 * time.Minute).Truncate(time.Second)
	parts := []part{{"p-yz", "yz", room, room + "/ws-1/yz.1"}, {"p-gy", "gy", room, room + "/ws-1/gy.1"}}
	f := newFeeder(t, b)
	n := 0
	for i := range 90 {
		n += f.window(start.Add(time.Duration(i)*time.Second), time.Second, parts, nil)
	}
	if n != 180 {
		t.Fatalf("published %d Samples", n)
	}
	const session = "S-1" // the feeder's
	chain := evidence.NewChain(b.Client(), b.Prefix())
	g := evidence.Group{Kind: evidence.KindSession, Ref: session}
	waitFor(t, 10*time.Second, "every Sample of the session seen", func() bool {
		v, _ := b.Client().HGet(ctx, b.Key(evidence.KeyOpen), g.String()).Result()
		var o evidence.Open
		_ = json.Unmarshal([]byte(v), &o)
		return o.Seen == int64(n)
	})
	if _, ok, _ := chain.Seal(ctx, g); ok {
		t.Fatal("sealed before the session was quiet")
	}
	clock.advance(6 * time.Minute)
	var seal evidence.Seal
	waitFor(t, 10*time.Second, "the session sealed", func() bool {
		s, ok, _ := chain.Seal(ctx, g)
		seal = s
		return ok
	})
	if seal.Count != int64(n) {
		t.Errorf("sealed %d Samples, want %d", seal.Count, n)
	}
	doc, _, err := evidence.NewExporter(b.Client(), b.Prefix()).Export(ctx,
		evidence.Window{Room: room, From: start.Add(30 * time.Second), To: start.Add(90 * time.Second)}, clock.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(doc)
	res, err := evidence.Verify(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 120 {
		t.Errorf("%s: want 120 records", res.Summary())
	}
}
