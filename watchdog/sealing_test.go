package watchdog

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/evidence"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// TestSealingThroughTheLeader: the leader seals a session from the raw
// archive once it has been quiet, and an export of a minute of it
// verifies.
func TestSealingThroughTheLeader(t *testing.T) {
	ctx := context.Background()
	b := openBus(t, redisURL(t))
	city := fastCity(t, "")
	clock := newFakeClock()
	w := startWatchdog(t, Options{Config: city, Bus: b, Clock: clock, NoHealth: true, NoDispatch: true, NoRemedy: true})
	waitFor(t, 10*time.Second, "a leader", w.Leader)

	room := city.Rooms[0].ID
	start := clock.Now().Add(-3 * time.Minute).Truncate(time.Second)
	var n int
	for _, loc := range []string{"gaoyou", "baoying"} {
		for seq := uint64(1); seq <= 90; seq++ {
			s := sample.Sample{Probe: "p-" + loc, Location: loc, Session: "S-E2E", Room: room, Transport: sample.TransportWS,
				Participant: room + "/ws-1/" + loc, Seq: seq, WindowStart: start.Add(time.Duration(seq) * time.Second),
				WindowMS: 1000, Connected: true, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: 12}
			raw, err := bus.EncodeSample(s)
			if err != nil {
				t.Fatal(err)
			}
			key := b.Key(rollup.KeyRaw + room + ":" + s.WindowStart.UTC().Format(evidence.HourLayout))
			if err := b.Client().RPush(ctx, key, raw).Err(); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	chain := evidence.NewChain(b.Client(), b.Prefix())
	g := evidence.Group{Kind: evidence.KindSession, Ref: "S-E2E"}
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
