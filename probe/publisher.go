package probe

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
)

// Publisher defaults.
const (
	publishBatch = 1024
	// publishTimeout bounds one attempt (a WAIT for replicas included).
	publishTimeout = 3 * time.Second
	// downAfter is how long a publish may go unanswered before Redis is
	// reported down (redis_up 0), while the attempt goes on: well within a
	// second of the failure, not after the client's retries.
	downAfter = 500 * time.Millisecond
	retryMin  = 100 * time.Millisecond
	retryMax  = 2 * time.Second
)

// publisher moves Samples from the spool to Redis, oldest first, one owner
// goroutine. A batch leaves the spool only when Publish says Redis has it —
// on the master and, where replicas are required, confirmed by WAIT. A
// failed or unconfirmed batch stays at the head of the spool and is offered
// again after a backoff; publishing is idempotent (bus.Publish), so a batch
// that reached Redis before the failure was noticed adds nothing twice.
type publisher struct {
	bus     *bus.Bus
	spool   *Spool
	metrics *metrics
	logger  *slog.Logger

	sent, errs atomic.Int64 // for the heartbeat
	out        outage
}

// outage tracks one Redis outage as the publisher sees it, so it is logged
// once when it starts and once when it ends.
type outage struct {
	mu       sync.Mutex
	down     bool
	start    time.Time
	maxDepth int64
	firstErr string
}

// markDown reports Redis down (idempotent within one outage).
func (p *publisher) markDown(why string) {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	depth := p.spool.Depth()
	if p.out.down {
		p.out.maxDepth = max(p.out.maxDepth, depth)
		return
	}
	p.out.down, p.out.start, p.out.maxDepth, p.out.firstErr = true, time.Now(), depth, why
	p.metrics.redisUp.Set(0)
	p.metrics.outages.Inc()
	p.logger.Warn("redis unreachable: samples wait in the spool until it returns",
		"outage_start", p.out.start.UTC().Format(time.RFC3339Nano), "spool_depth", depth, "err", why)
}

// markUp reports Redis up, ending an outage if there was one.
func (p *publisher) markUp() {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	p.metrics.redisUp.Set(1)
	if !p.out.down {
		return
	}
	end := time.Now()
	p.out.down = false
	p.logger.Info("redis is back: publishing the spool",
		"outage_start", p.out.start.UTC().Format(time.RFC3339Nano), "outage_end", end.UTC().Format(time.RFC3339Nano),
		"outage", end.Sub(p.out.start).Round(time.Millisecond).String(),
		"spool_max_depth", p.out.maxDepth, "spool_depth", p.spool.Depth(), "first_err", p.out.firstErr)
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
		res, err := p.publish(ctx, batch)
		if err != nil {
			if ctx.Err() != nil {
				p.logger.Warn("shutdown: could not publish everything in time; the rest stays in the spool", "waiting", p.spool.Depth())
				return false
			}
			p.metrics.publishErrors.Inc()
			if errors.Is(err, bus.ErrNotReplicated) {
				p.metrics.unconfirmed.Inc()
			}
			p.errs.Add(1)
			p.markDown(err.Error())
			p.spool.Sync()
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				p.logger.Warn("shutdown: redis unreachable; samples stay in the spool for the next start", "waiting", p.spool.Depth())
				return false
			}
			backoff = min(2*backoff, retryMax)
			continue
		}
		p.markUp()
		backoff = retryMin
		p.spool.Ack(len(batch))
		p.metrics.sent.Add(float64(res.Added))
		p.sent.Add(int64(res.Added))
		p.metrics.duplicates.Add(float64(res.Skipped))
	}
}

// publish makes one attempt, reporting Redis down if it goes unanswered
// for downAfter.
func (p *publisher) publish(ctx context.Context, batch []bus.Entry) (bus.PublishResult, error) {
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	slow := time.AfterFunc(downAfter, func() { p.markDown("no answer within " + downAfter.String()) })
	defer slow.Stop()
	return p.bus.Publish(pctx, batch)
}
