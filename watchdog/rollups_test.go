package watchdog

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// TestFlushRollsUpOnce: a replica that stalled finds 4 of its 10 entries
// claimed by another; its flush rolls up and archives only the 6 it still
// owns, a retry of the same batch adds nothing, and the other replica's
// flush adds its 4: the roll-ups count each Sample once, and the raw
// archive holds each stream entry's exact bytes once.
func TestFlushRollsUpOnce(t *testing.T) {
	b := openBus(t, redisURL(t))
	ctx := context.Background()
	city := fastCity(t, "")
	slow, err := New(Options{Config: city, Bus: b, ID: "slow", NoHealth: true})
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(Options{Config: city, Bus: b, ID: "other", NoHealth: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := slow.ensureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	var es []bus.Entry
	for i := range 10 {
		s := sample.Sample{Probe: "p", Location: "yz", Session: "S-1", Room: "by-hall-1", Transport: sample.TransportWS,
			Participant: fmt.Sprint(i), Seq: 1, WindowStart: at, WindowMS: 1000, Connected: true, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: 20}
		if i >= 8 {
			s.Session = "" // patrol: hourly roll-ups only
		}
		e, err := bus.NewEntry(s)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	if _, err := b.Publish(ctx, es); err != nil {
		t.Fatal(err)
	}
	res, err := b.Client().XReadGroup(ctx, &redis.XReadGroupArgs{Group: Group, Consumer: "slow", Streams: []string{b.Key(bus.KeySamples), ">"}, Count: 100}).Result()
	if err != nil {
		t.Fatal(err)
	}
	msgs := res[0].Messages
	var taken []string
	for _, m := range msgs[:4] {
		taken = append(taken, m.ID)
	}
	claimed, err := b.Client().XClaim(ctx, &redis.XClaimArgs{Stream: b.Key(bus.KeySamples), Group: Group, Consumer: "other", MinIdle: 0, Messages: taken}).Result()
	if err != nil {
		t.Fatal(err)
	}
	stale := time.Now().Add(-city.Watchdog.Consumer.ClaimIdle)
	hour := rollup.Hour(at)
	count := func() (samples, sessionSamples int64) {
		t.Helper()
		err := slow.Rollups().Hourly(ctx, hour, hour.Add(time.Hour), func(r rollup.Row) error { samples += r.Stats.Samples; return nil })
		if err == nil {
			err = slow.Rollups().Sessions(ctx, hour, hour.Add(time.Hour), func(r rollup.SessionRow) error { sessionSamples += r.Stats.Samples; return nil })
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}

	slow.handle(ctx, msgs, stale, false)
	if n, s := count(); n != 6 || s != 4 {
		t.Fatalf("after the stalled flush: %d samples (%d in sessions), want 6 (4)", n, s)
	}
	slow.handle(ctx, msgs, stale, false) // the same batch again: nothing is its own any more
	if n, _ := count(); n != 6 {
		t.Fatalf("after a retry: %d samples, want still 6", n)
	}
	other.handle(ctx, claimed, stale, true)
	if n, s := count(); n != 10 || s != 8 {
		t.Fatalf("after the other replica's flush: %d samples (%d in sessions), want 10 (8)", n, s)
	}

	raw, err := b.Client().LRange(ctx, b.Key(rollup.KeyRaw+"by-hall-1:"+rollup.HourName(at)), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range msgs {
		want = append(want, m.Values[bus.FieldSample].(string))
	}
	slices.Sort(raw)
	slices.Sort(want)
	if !slices.Equal(raw, want) {
		t.Errorf("raw archive:\n%q\nwant the stream's entries\n%q", raw, want)
	}
}

// TestLeaderPacksClosedDays: the leader's packing loop packs a day of the
// report time zone once it has been over for DefaultGrace, on the
// watchdog's clock; the day reads the same before and after.
func TestLeaderPacksClosedDays(t *testing.T) {
	b := openBus(t, redisURL(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	city := fastCity(t, "")
	loc := city.Reports.Location()
	// Yesterday in the report zone, 10:00: the day is over, its raw lists
	// and roll-ups are still within retention.
	day := rollup.DayOf(time.Now(), loc).AddDate(0, 0, -1)
	clock := clockwork.NewFakeClockAt(day.Add(25 * time.Hour)) // 01:00 the day after: within the grace
	w, err := New(Options{Config: city, Bus: b, ID: "leader", NoHealth: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ensureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	var es []bus.Entry
	for i := range 20 {
		s := sample.Sample{Probe: "p", Location: "yz", Session: "S-pack", Room: "by-hall-1", Transport: sample.TransportWS,
			Participant: "x", Seq: uint64(i + 1), WindowStart: day.Add(10*time.Hour + time.Duration(i)*time.Minute), WindowMS: 1000,
			Connected: true, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: float64(10 + i)}
		e, err := bus.NewEntry(s)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	if _, err := b.Publish(ctx, es); err != nil {
		t.Fatal(err)
	}
	res, err := b.Client().XReadGroup(ctx, &redis.XReadGroupArgs{Group: Group, Consumer: "leader", Streams: []string{b.Key(bus.KeySamples), ">"}, Count: 100}).Result()
	if err != nil {
		t.Fatal(err)
	}
	w.handle(ctx, res[0].Messages, time.Now(), false)
	daily := func() rollup.Stats {
		t.Helper()
		var st rollup.Stats
		if err := w.Rollups().Daily(ctx, loc, day, day.AddDate(0, 0, 1), func(r rollup.Row) error { st.Merge(&r.Stats); return nil }); err != nil {
			t.Fatal(err)
		}
		return st
	}
	before := daily()
	if before.Samples != 20 {
		t.Fatalf("day before packing: %d samples, want 20", before.Samples)
	}
	dayKey := b.Key(rollup.KeyDay + rollup.DayName(day, loc) + ":by-hall-1|yz|ws")
	done := make(chan struct{})
	go func() { defer close(done); w.compactLoop(ctx) }()
	bctx, bcancel := context.WithTimeout(ctx, 5*time.Second)
	defer bcancel()
	if err := clock.BlockUntilContext(bctx, 1); err != nil { // the loop ran once (too early) and waits for its ticker
		t.Fatalf("the packing loop never waited for its ticker: %v", err)
	}
	if n := b.Client().Exists(ctx, dayKey).Val(); n != 0 {
		t.Fatal("a day packed within its grace")
	}
	clock.Advance(3 * time.Hour) // 04:00: the grace is over; the ticker fires
	waitFor(t, 5*time.Second, "the day packed", func() bool { return b.Client().Exists(ctx, dayKey).Val() == 1 })
	if after := daily(); !reflect.DeepEqual(after, before) {
		t.Errorf("the day changed in packing:\n%+v\n%+v", after, before)
	}
	if n := b.Client().ZCard(ctx, b.Key(rollup.KeyHours)).Val(); n != 0 {
		t.Errorf("%d live hours left", n)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the packing loop did not stop")
	}
}

// TestFlushRollsUpOnEmbeddedRedis: the flush script, roll-ups included,
// runs on the embedded Redis the demo and a try-out use.
func TestFlushRollsUpOnEmbeddedRedis(t *testing.T) {
	b := openBus(t, "")
	ctx := context.Background()
	w, err := New(Options{Config: fastCity(t, ""), Bus: b, ID: "one", NoHealth: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ensureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	var es []bus.Entry
	for i := range 5 {
		e, err := bus.NewEntry(sample.Sample{Probe: "p", Location: "yz", Session: "S-1", Room: "by-hall-1", Transport: sample.TransportWS,
			Participant: fmt.Sprint(i), Seq: 1, WindowStart: at, WindowMS: 1000, Connected: true, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: 20})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	if _, err := b.Publish(ctx, es); err != nil {
		t.Fatal(err)
	}
	res, err := b.Client().XReadGroup(ctx, &redis.XReadGroupArgs{Group: Group, Consumer: "one", Streams: []string{b.Key(bus.KeySamples), ">"}, Count: 100}).Result()
	if err != nil {
		t.Fatal(err)
	}
	w.handle(ctx, res[0].Messages, time.Now(), false)
	var n, s int64
	hour := rollup.Hour(at)
	if err := w.Rollups().Hourly(ctx, hour, hour.Add(time.Hour), func(r rollup.Row) error { n += r.Stats.Samples; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := w.Rollups().Sessions(ctx, hour, hour.Add(time.Hour), func(r rollup.SessionRow) error { s += r.Stats.Samples; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 5 || s != 5 {
		t.Errorf("%d samples rolled up hourly, %d in sessions; want 5 and 5", n, s)
	}
	if p, err := b.Client().XPending(ctx, b.Key(bus.KeySamples), Group).Result(); err != nil || p.Count != 0 {
		t.Errorf("pending after the flush: %+v, %v", p, err)
	}
}
