package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replica confirmation (WAIT).
const (
	// AutoReplicas (Options.MinReplicas' zero value) waits for one replica
	// once the master has reported one, and for none before. Once seen, a
	// replica is always waited for: a master that lost its replica in a
	// failover is exactly the one whose writes are about to be thrown away.
	AutoReplicas = 0
	// NoReplicas never waits: a write is done when the master has it.
	NoReplicas = -1
	// DefaultWaitTimeout bounds each WAIT.
	DefaultWaitTimeout = time.Second
	// autoRecheck is how often AutoReplicas asks the master, until it
	// reports a replica.
	autoRecheck = 10 * time.Second
)

// ErrNotReplicated is returned when fewer replicas than required confirmed
// a write within the wait timeout. The write is on the master, but a
// failover may yet lose it: write it again (every durable write here is
// idempotent).
var ErrNotReplicated = errors.New("not confirmed by enough replicas")

// durability says how many replicas a write waits for.
type durability struct {
	want    int // > 0 fixed; AutoReplicas; NoReplicas
	timeout time.Duration

	mu      sync.Mutex
	seen    bool // auto: the master reported a replica (sticky)
	checked time.Time
}

func newDurability(want int, timeout time.Duration) durability {
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	return durability{want: want, timeout: timeout}
}

func (d *durability) describe() string {
	switch {
	case d.want > 0:
		return strconv.Itoa(d.want)
	case d.want == AutoReplicas:
		return "auto"
	}
	return "0"
}

// MinReplicas is how many replicas a durable write waits for now: the
// configured number, or for AutoReplicas 1 once the master has reported a
// replica (asked at most every 10 s until it does), else 0. The embedded
// Redis has none.
func (b *Bus) MinReplicas(ctx context.Context) (int, error) {
	d := &b.durable
	switch {
	case b.embedded != nil || d.want < 0:
		return 0, nil
	case d.want > 0:
		return d.want, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen {
		return 1, nil
	}
	if !d.checked.IsZero() && time.Since(d.checked) < autoRecheck {
		return 0, nil
	}
	w, err := b.writer(ctx)
	if err != nil {
		return 0, err
	}
	info, err := w.Info(ctx, "replication").Result()
	if err != nil {
		return 0, fmt.Errorf("ask the master for its replicas: %w", err)
	}
	d.checked = time.Now()
	if connectedReplicas(info) > 0 {
		d.seen = true
		b.logger.Info("the master has a replica: every durable write now waits for one to confirm it (redis.min_replicas: auto)")
		return 1, nil
	}
	return 0, nil
}

// connectedReplicas reads connected_slaves from INFO replication.
func connectedReplicas(info string) int {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_slaves:"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// writer is the client the writes of one durable unit go to, so that a
// WAIT in the same pipeline (one connection) covers them: the client itself
// for a single node or Sentinel (whose client talks to the master), or, on a
// Cluster, the master of the hash slot the prefix's hash tag selects.
func (b *Bus) writer(ctx context.Context) (redis.UniversalClient, error) {
	cc, ok := b.rdb.(*redis.ClusterClient)
	if !ok {
		return b.rdb, nil
	}
	node, err := cc.MasterForKey(ctx, b.Key(KeySamples))
	if err != nil {
		return nil, fmt.Errorf("find the master of slot %q: %w", b.prefix, err)
	}
	return node, nil
}

// afterClusterError refreshes a Cluster's slot map when err says a slot
// moved or is moving, so the next attempt goes to the new owner.
func (b *Bus) afterClusterError(ctx context.Context, err error) {
	cc, ok := b.rdb.(*redis.ClusterClient)
	if !ok || err == nil {
		return
	}
	s := err.Error()
	for _, p := range []string{"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"} {
		if strings.Contains(s, p) {
			cc.ReloadState(ctx)
			return
		}
	}
}

// addWait appends a WAIT for n replicas to pipe, or nothing for n == 0.
func (b *Bus) addWait(ctx context.Context, pipe redis.Pipeliner, n int) *redis.IntCmd {
	if n <= 0 {
		return nil
	}
	if w, ok := pipe.(interface {
		Wait(context.Context, int, time.Duration) *redis.IntCmd
	}); ok {
		return w.Wait(ctx, n, b.durable.timeout) // extends the read deadline
	}
	cmd := redis.NewIntCmd(ctx, "wait", n, b.durable.timeout.Milliseconds())
	_ = pipe.Process(ctx, cmd)
	return cmd
}

// checkWait turns a WAIT's reply into ErrNotReplicated when too few
// replicas confirmed.
func (b *Bus) checkWait(wait *redis.IntCmd, n int) error {
	if wait == nil {
		return nil
	}
	got, err := wait.Result()
	if err != nil {
		return fmt.Errorf("wait for replicas: %w", err)
	}
	if int(got) < n {
		return fmt.Errorf("%d of %d replicas confirmed within %s: %w", got, n, b.durable.timeout, ErrNotReplicated)
	}
	return nil
}

// RunDurable runs script like (*redis.Script).Run, then waits for the
// replicas MinReplicas asks for, on the same connection: the write is done
// only when they confirm it (else an error wrapping ErrNotReplicated, and
// the script's effect is on the master only). The watchdog's incident and
// outbox writes go through it. Keys must share the prefix's hash slot on a
// Cluster.
func (b *Bus) RunDurable(ctx context.Context, script *redis.Script, keys []string, args ...any) (any, error) {
	n, err := b.MinReplicas(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return script.Run(ctx, b.rdb, keys, args...).Result()
	}
	w, err := b.writer(ctx)
	if err != nil {
		return nil, err
	}
	pipe := w.Pipeline()
	cmd := script.Eval(ctx, pipe, keys, args...)
	wait := b.addWait(ctx, pipe, n)
	if _, err := pipe.Exec(ctx); err != nil {
		b.afterClusterError(ctx, err)
		if cerr := cmd.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	if err := b.checkWait(wait, n); err != nil {
		return cmd.Val(), err
	}
	return cmd.Val(), nil
}

// Durable runs a script so that its writes are confirmed by the replicas
// the deployment asks for; *Bus is one (RunDurable).
type Durable interface {
	RunDurable(ctx context.Context, script *redis.Script, keys []string, args ...any) (any, error)
}

// durableTries bounds RunScript's attempts at a confirmed write.
const durableTries = 3

// RunScript runs script through d when d is not nil — sending it again, up
// to three times, while the replicas do not confirm it — else plainly on
// rdb. A script run this way must be idempotent, and must write something
// even when it changes nothing (so the WAIT after a repeat covers the first
// attempt's writes).
func RunScript(ctx context.Context, d Durable, rdb redis.Scripter, script *redis.Script, keys []string, args ...any) (any, error) {
	if d == nil {
		return script.Run(ctx, rdb, keys, args...).Result()
	}
	var v any
	var err error
	for range durableTries {
		v, err = d.RunDurable(ctx, script, keys, args...)
		if !errors.Is(err, ErrNotReplicated) {
			return v, err
		}
	}
	return v, err
}
