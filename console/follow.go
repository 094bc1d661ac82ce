package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/sample"
)

// follower reads the samples stream into a Live: first the history the
// Live keeps (so a console started mid-session shows the last minutes at
// once), then new entries as they come. Every console replica follows the
// stream itself, without a consumer group: nothing is taken from the
// watchdog.
type follower struct {
	bus    *bus.Bus
	live   *Live
	now    func() time.Time
	logger *slog.Logger
	// ok is false while Redis does not answer.
	ok atomic.Bool
	// lastRead is when a read last succeeded (Unix ms).
	lastRead atomic.Int64
	// added, when set, is called after new samples were folded in.
	added func()
}

const followBatch = 2000

func (f *follower) run(ctx context.Context) {
	key := f.bus.Key(bus.KeySamples)
	rdb := f.bus.Client()
	last := ""
	pause := 250 * time.Millisecond
	for ctx.Err() == nil {
		var err error
		if last == "" {
			last, err = f.backfill(ctx, rdb, key)
		} else {
			last, err = f.read(ctx, rdb, key, last)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if f.ok.Swap(false) {
				f.logger.Warn("samples stream unreachable; the live view is stale until it is back", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(pause*2, 5*time.Second)
			continue
		}
		if !f.ok.Swap(true) {
			f.logger.Info("following the samples stream")
		}
		pause = 250 * time.Millisecond
		f.lastRead.Store(f.now().UnixMilli())
	}
}

// backfill reads the kept history and returns the id to go on after.
func (f *follower) backfill(ctx context.Context, rdb redis.UniversalClient, key string) (string, error) {
	// Pin the end first, so nothing written meanwhile is missed.
	top, err := rdb.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("samples stream: %w", err)
	}
	if len(top) == 0 {
		return "0-0", nil
	}
	end := top[0].ID
	start := strconv.FormatInt(f.now().Add(-f.live.keep).UnixMilli(), 10)
	for {
		msgs, err := rdb.XRangeN(ctx, key, start, end, followBatch).Result()
		if err != nil {
			return "", fmt.Errorf("samples stream: %w", err)
		}
		f.add(msgs)
		if len(msgs) < followBatch {
			return end, nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// read waits up to a second for entries after last.
func (f *follower) read(ctx context.Context, rdb redis.UniversalClient, key, last string) (string, error) {
	res, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{key, last}, Count: followBatch, Block: time.Second}).Result()
	if errors.Is(err, redis.Nil) {
		return last, nil
	}
	if err != nil {
		return last, fmt.Errorf("samples stream: %w", err)
	}
	for _, st := range res {
		f.add(st.Messages)
		if n := len(st.Messages); n > 0 {
			last = st.Messages[n-1].ID
		}
	}
	return last, nil
}

func (f *follower) add(msgs []redis.XMessage) {
	ss := make([]sample.Sample, 0, len(msgs))
	for _, m := range msgs {
		s, err := bus.DecodeSample(m.Values)
		if err != nil {
			continue // the watchdog counts bad entries; the console only shows good ones
		}
		ss = append(ss, s)
	}
	f.live.Add(f.now(), ss...)
	if len(ss) > 0 && f.added != nil {
		f.added()
	}
}
