package probe

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
)

// Publisher defaults.
const (
	publishBatch   = 1024
	publishTimeout = 5 * time.Second
	retryMin       = 100 * time.Millisecond
	retryMax       = 2 * time.Second
)

// publisher moves Samples from the spool to Redis, oldest first, one owner
// goroutine. A failed batch stays at the head of the spool and is offered
// again after a backoff; publishing is idempotent (bus.Publish), so a batch
// that reached Redis before the failure was noticed adds nothing twice.
type publisher struct {
	bus     *bus.Bus
	spool   *Spool
	metrics *metrics
	logger  *slog.Logger

	sent, errs atomic.Int64 // for the heartbeat
}

// run publishes until stop is closed, then drains what is spooled for up to
// flush, and returns. It reports whether the spool was emptied.
func (p *publisher) run(stop <-chan struct{}, flush time.Duration) bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // the flush deadline, once stop is closed
		select {
		case <-stop:
		case <-ctx.Done():
			return
		}
		t := time.NewTimer(flush)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-ctx.Done():
		}
	}()
	up := true
	backoff := retryMin
	draining := false
	for {
		if !draining {
			select {
			case <-stop:
				draining = true
			default:
			}
		}
		batch := p.spool.Peek(publishBatch)
		if len(batch) == 0 {
			if draining {
				return true
			}
			select {
			case <-p.spool.Ready():
			case <-stop:
				draining = true
			}
			continue
		}
		pctx, pcancel := context.WithTimeout(ctx, publishTimeout)
		res, err := p.bus.Publish(pctx, batch)
		pcancel()
		if err != nil {
			if ctx.Err() != nil {
				p.logger.Warn("shutdown: could not publish everything in time; the rest stays in the spool", "waiting", p.spool.Depth())
				return false
			}
			p.metrics.publishErrors.Inc()
			p.errs.Add(1)
			if up {
				up = false
				p.metrics.redisUp.Set(0)
				p.logger.Warn("redis unreachable: spooling samples to disk until it returns", "err", err)
			}
			p.spool.Spill()
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				p.logger.Warn("shutdown: redis unreachable; samples stay in the spool for the next start", "waiting", p.spool.Depth())
				return false
			}
			backoff = min(2*backoff, retryMax)
			continue
		}
		if !up {
			up = true
			p.logger.Info("redis is back: replaying the spool", "waiting", p.spool.Depth())
		}
		p.metrics.redisUp.Set(1)
		p.spool.Healthy()
		backoff = retryMin
		p.spool.Ack(len(batch))
		p.metrics.sent.Add(float64(res.Added))
		p.sent.Add(int64(res.Added))
		p.metrics.duplicates.Add(float64(res.Skipped))
	}
}
