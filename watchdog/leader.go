package watchdog

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// lease is the leader lock: a key holding the leader's id with a TTL, taken
// with SET NX PX and kept by renewing it before it runs out.
type lease struct {
	rdb redis.UniversalClient
	key string
	id  string
	ttl time.Duration
}

// renewScript extends the lease if it is still ours.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// releaseLeaseScript gives the lease up if it is still ours.
var releaseLeaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// hold takes the lease, or renews it if it is already ours; it reports
// whether we hold it now.
func (l *lease) hold(ctx context.Context) (bool, error) {
	ok, err := renewScript.Run(ctx, l.rdb, []string{l.key}, l.id, l.ttl.Milliseconds()).Int()
	if err != nil {
		return false, err
	}
	if ok == 1 {
		return true, nil
	}
	got, err := l.rdb.SetNX(ctx, l.key, l.id, l.ttl).Result()
	if err != nil {
		return false, err
	}
	return got, nil
}

// release gives the lease up, so another replica takes over at once.
func (l *lease) release(ctx context.Context) error {
	err := releaseLeaseScript.Run(ctx, l.rdb, []string{l.key}, l.id).Err()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

// lead runs run while this replica holds the lease: it tries to take the
// lease every third of its TTL, and when a renewal fails (lost, or Redis
// away) it stops run at once, since another replica may take over after
// the TTL.
func (w *Watchdog) lead(ctx context.Context, run func(ctx context.Context)) {
	l := &lease{rdb: w.rdb, key: w.bus.Key(KeyLeader), id: w.opts.ID, ttl: w.cfg.Leader.LeaseTTL}
	t := w.clock.NewTicker(l.ttl / 3)
	defer t.Stop()
	var (
		stop context.CancelFunc
		done chan struct{}
	)
	resign := func() {
		if stop == nil {
			return
		}
		stop()
		<-done
		stop, done = nil, nil
		w.leader.Store(false)
		w.m.leader.Set(0)
	}
	defer func() {
		resign()
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = l.release(rctx)
	}()
	for {
		hctx, cancel := context.WithTimeout(ctx, l.ttl/3)
		held, err := l.hold(hctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil || !held:
			if stop != nil {
				w.log.Warn("leadership lost", "err", err)
			}
			resign()
		case stop == nil:
			w.log.Info("leading: running health checks, detection, correlation and timers")
			lctx, cancelRun := context.WithCancel(ctx)
			stop, done = cancelRun, make(chan struct{})
			w.leader.Store(true)
			w.m.leader.Set(1)
			go func() {
				defer close(done)
				run(lctx)
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
	}
}
