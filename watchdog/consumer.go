package watchdog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// flushScript hands a batch on: it checks that this consumer still owns
// every entry (another replica may have claimed some while this one
// stalled), and only then appends the batch's aggregates to the aggregates
// stream, adds the batch to the roll-ups and the raw archive
// (rollup.ApplyLua) and acknowledges the entries, all at once. When some
// are no longer owned it changes nothing and returns them, and the batch is
// reduced again without them: so no entry is ever counted twice, and none
// is acknowledged unprocessed.
//
// The ownership check costs an XPENDING per entry; it is skipped (check
// "0") when the batch is handed on well within claim_idle of being read, as
// nobody can have claimed an entry idle for less than claim_idle.
//
// KEYS: samples stream, aggregates stream, the roll-ups' keys. ARGV: group,
// consumer, aggregates JSON ("" for none), the oldest id to keep (MINID ~),
// check ("1" or "0"), the number of ids n, ids…, then the roll-up
// operations (rollup.Ingest.Build).
var flushScript = redis.NewScript(rollup.ApplyLua + `
local n = tonumber(ARGV[6])
local last = 6 + n
if ARGV[5] == '1' then
  local lost = {}
  for i = 7, last do
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
    if #p == 0 then lost[#lost + 1] = ARGV[i] end
  end
  if #lost > 0 then return {0, lost} end
end
if ARGV[3] ~= '' then
  redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[4], '*', 'aggs', ARGV[3])
end
rollup_apply(2, last + 1)
local i = 7
while i <= last do
  local j = math.min(i + 499, last)
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, i, j))
  i = j + 1
end
return {1, n}
`)

// ensureGroup creates the consumer group (and the stream) if missing.
func (w *Watchdog) ensureGroup(ctx context.Context) error {
	err := w.rdb.XGroupCreateMkStream(ctx, w.samplesKey, Group, w.opts.StartID).Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group %s on %s: %w", Group, w.samplesKey, err)
	}
	return nil
}

// batch is what one read returned, and when.
type batch struct {
	msgs   []redis.XMessage
	readAt time.Time
}

// decoded is a batch read and decoded, ready to be handed on.
type decoded struct {
	items  []item
	readAt time.Time
	start  time.Time
}

// consume reads new entries with the group until ctx ends and hands each
// batch on. Three stages overlap: reading the next batch, decoding the one
// before, and handing on (the flush script) the one before that, so Redis
// runs a batch's script while Go decodes the next; batches are handed on
// in order, and a batch read is handed on even when ctx ends meanwhile.
func (w *Watchdog) consume(ctx context.Context) {
	batches := make(chan batch, 1)
	go func() {
		defer close(batches)
		w.read(ctx, batches)
	}()
	ready := make(chan decoded, 1)
	go func() {
		defer close(ready)
		for b := range batches {
			start := time.Now()
			ready <- decoded{items: w.decode(b.msgs), readAt: b.readAt, start: start}
		}
	}()
	for d := range ready {
		w.handOn(ctx, d.items, d.readAt, d.start, false)
	}
}

// read reads batches with the group until ctx ends.
func (w *Watchdog) read(ctx context.Context, out chan<- batch) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		res, err := w.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: Group, Consumer: w.opts.ID, Streams: []string{w.samplesKey, ">"},
			Count: int64(w.cfg.Consumer.Batch), Block: w.cfg.Consumer.Block,
		}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && strings.Contains(err.Error(), "NOGROUP"):
			if err := w.ensureGroup(ctx); err != nil {
				w.log.Warn("consumer group", "err", err)
				w.sleep(ctx, backoff)
			}
			continue
		case err != nil:
			w.log.Warn("read samples", "err", err)
			w.sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		// Entries are claimed on Redis's idle time: their reading is timed
		// on the real clock.
		readAt := time.Now()
		for _, st := range res {
			// Sent even when ctx ends: these entries are ours now.
			out <- batch{msgs: st.Messages, readAt: readAt}
		}
	}
}

// claim takes over, every half claim_idle, the entries that have waited
// unacknowledged longer than claim_idle: a dead replica's.
func (w *Watchdog) claim(ctx context.Context) {
	t := w.clock.NewTicker(max(w.cfg.Consumer.ClaimIdle/2, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		start := "0-0"
		for ctx.Err() == nil {
			readAt := time.Now()
			msgs, next, err := w.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: w.samplesKey, Group: Group, Consumer: w.opts.ID,
				MinIdle: w.cfg.Consumer.ClaimIdle, Start: start, Count: int64(w.cfg.Consumer.Batch),
			}).Result()
			if err != nil {
				if ctx.Err() == nil && !strings.Contains(err.Error(), "NOGROUP") {
					w.log.Warn("claim pending samples", "err", err)
				}
				break
			}
			if len(msgs) > 0 {
				w.log.Info("claimed pending samples of a replica taken for dead", "count", len(msgs))
				w.m.claimed.Add(float64(len(msgs)))
				w.handle(ctx, msgs, readAt, true)
			}
			if next == "0-0" || next == "" {
				break
			}
			start = next
		}
	}
}

// item is one stream entry, decoded.
type item struct {
	id     string
	raw    string // the entry's Sample JSON, as the stream holds it
	sample sample.Sample
	ok     bool
}

// handle decodes a batch read (or claimed) at readAt, reduces it and
// flushes it. A flush that fails (Redis away) is retried until claim_idle
// is gone; after that the entries stay pending and are claimed again later,
// by this replica or another.
func (w *Watchdog) handle(ctx context.Context, msgs []redis.XMessage, readAt time.Time, claimed bool) {
	start := time.Now()
	w.handOn(ctx, w.decode(msgs), readAt, start, claimed)
}

// handOn reduces and flushes a decoded batch (see handle); start is when
// its handling began.
func (w *Watchdog) handOn(ctx context.Context, items []item, readAt, start time.Time, claimed bool) {
	deadline := readAt.Add(w.cfg.Consumer.ClaimIdle)
	backoff := 50 * time.Millisecond
	failed := false
	for len(items) > 0 {
		// Well within claim_idle of the read, nobody can have claimed an
		// entry: the ownership check is skipped. After a failed flush it is
		// not: the script may have run with its reply lost, and entries it
		// acknowledged then are not counted (rolled up) again.
		check := failed || time.Since(readAt) > w.cfg.Consumer.ClaimIdle/2
		n, lost, err := w.flush(ctx, items, check)
		failed = err != nil
		if err == nil && len(lost) == 0 {
			w.m.processed.Add(float64(n))
			now := time.Now()
			for _, it := range items {
				if it.ok {
					end := it.sample.WindowStart.Add(time.Duration(it.sample.WindowMS * float64(time.Millisecond)))
					w.m.lag.Observe(now.Sub(end).Seconds())
					if w.ingest != nil && !rollup.Valid(&it.sample) {
						w.m.unrolled.Inc()
					}
				}
			}
			w.m.stage.WithLabelValues("ingest").Observe(time.Since(start).Seconds())
			w.checkSeq(ctx, items)
			return
		}
		if err == nil {
			w.m.lost.Add(float64(len(lost)))
			items = without(items, lost)
			continue
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			w.log.Warn("batch left pending, to be claimed again", "entries", len(items), "claimed", claimed, "err", err)
			return
		}
		w.log.Warn("flush samples", "err", err)
		w.sleep(ctx, backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// decodeChunk is how many entries one decoding goroutine takes.
const decodeChunk = 256

// decode decodes a batch's Samples, a large batch on several cores.
func (w *Watchdog) decode(msgs []redis.XMessage) []item {
	items := make([]item, len(msgs))
	one := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			m := msgs[i]
			items[i].id = m.ID
			s, err := bus.DecodeSample(m.Values)
			if err != nil {
				w.m.bad.Inc()
				w.log.Debug("skipping a bad sample", "id", m.ID, "err", err)
				continue
			}
			items[i].sample, items[i].ok = s, true
			switch v := m.Values[bus.FieldSample].(type) {
			case string:
				items[i].raw = v
			case []byte:
				items[i].raw = string(v)
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), (len(msgs)+decodeChunk-1)/decodeChunk)
	if workers <= 1 {
		one(0, len(msgs))
		return items
	}
	var wg sync.WaitGroup
	per := (len(msgs) + workers - 1) / workers
	for lo := 0; lo < len(msgs); lo += per {
		hi := min(lo+per, len(msgs))
		wg.Go(func() { one(lo, hi) })
	}
	wg.Wait()
	return items
}

// flush runs flushScript for the items; it returns how many were
// acknowledged, or the ids no longer owned.
func (w *Watchdog) flush(ctx context.Context, items []item, check bool) (int, []string, error) {
	red := newReducer(w.cfg.Detect.Dropout.DownConnectedPct)
	args := make([]any, 6, 6+len(items))
	entries := make([]rollup.Entry, 0, len(items))
	for i := range items {
		if items[i].ok {
			red.add(&items[i].sample)
			entries = append(entries, rollup.Entry{Sample: &items[i].sample, Raw: items[i].raw})
		}
		args = append(args, items[i].id)
	}
	aggs := red.take()
	payload := ""
	if len(aggs) > 0 {
		data, err := json.Marshal(aggs)
		if err != nil {
			return 0, nil, fmt.Errorf("encode aggregates: %w", err)
		}
		payload = string(data)
	}
	minID := strconv.FormatInt(time.Now().Add(-aggsKeep).UnixMilli(), 10)
	args[0], args[1], args[2], args[3], args[4], args[5] = Group, w.opts.ID, payload, minID, "0", len(items)
	if check {
		args[4] = "1"
	}
	keys := []string{w.samplesKey, w.aggsKey}
	if w.ingest != nil {
		rkeys, rargs := w.ingest.Build(entries)
		keys = append(keys, rkeys...)
		args = append(args, rargs...)
	}
	// The flush must not be cut short by shutdown: a batch read is handed
	// on, or left pending, whole.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	res, err := flushScript.Run(fctx, w.rdb, keys, args...).Slice()
	if err != nil {
		return 0, nil, fmt.Errorf("flush %d samples: %w", len(items), err)
	}
	if len(res) != 2 {
		return 0, nil, fmt.Errorf("flush: unexpected reply %v", res)
	}
	if ok, _ := res[0].(int64); ok == 1 {
		n, _ := res[1].(int64)
		return int(n), nil, nil
	}
	var lost []string
	if l, ok := res[1].([]any); ok {
		for _, id := range l {
			if s, ok := id.(string); ok {
				lost = append(lost, s)
			}
		}
	}
	return 0, lost, nil
}

func without(items []item, ids []string) []item {
	drop := make(map[string]bool, len(ids))
	for _, id := range ids {
		drop[id] = true
	}
	out := items[:0]
	for _, it := range items {
		if !drop[it.id] {
			out = append(out, it)
		}
	}
	return out
}

// sleep waits d on the watchdog's clock, or until ctx ends.
func (w *Watchdog) sleep(ctx context.Context, d time.Duration) {
	t := w.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.Chan():
	}
}
