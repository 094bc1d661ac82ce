package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Defaults for Options.
const (
	// DefaultMaxLen bounds the samples stream (XADD MAXLEN ~).
	DefaultMaxLen = 1_000_000
	// DefaultLastSeqTTL is how long the last-published seq of a participant is
	// remembered for de-duplication after its last Sample.
	DefaultLastSeqTTL = 7 * 24 * time.Hour
)

// Options configure Open.
type Options struct {
	// URL selects the Redis (see docs/wire-format.md and newClient for the
	// forms). Empty starts an embedded in-process Redis: nothing persisted.
	URL string
	// Prefix starts every key; default DefaultPrefix. With a Cluster it must
	// hold a hash tag ("{bidwatch}:").
	Prefix string
	// MaxLen bounds the samples stream, approximately; default DefaultMaxLen.
	MaxLen int64
	// LastSeqTTL is how long de-duplication state outlives a participant's
	// last Sample; default DefaultLastSeqTTL.
	LastSeqTTL time.Duration
	// MinReplicas is how many replicas must confirm (WAIT) a write that must
	// not be lost — a published batch, an incident — before it counts as
	// done. AutoReplicas (0, the default) takes 1 once the master reports a
	// replica, else none; NoReplicas never waits. See durable.go.
	MinReplicas int
	// WaitTimeout bounds each WAIT; default DefaultWaitTimeout.
	WaitTimeout time.Duration
	// Logger receives the connection's log lines; default discards.
	Logger *slog.Logger
}

// Bus is a connection to Redis with bidwatch's key names and encodings. It is
// safe for concurrent use.
type Bus struct {
	rdb        redis.UniversalClient
	prefix     string
	maxLen     int64
	lastSeqTTL time.Duration
	logger     *slog.Logger
	embedded   *miniredis.Miniredis
	mode       mode
	durable    durability
}

// Open connects to the Redis that opts.URL names, or starts an embedded one
// when it is empty. It does not wait for Redis to answer (ctx is not used
// yet): a probe agent must start, and spool, while Redis is away. Use Ping to
// check.
func Open(_ context.Context, opts Options) (*Bus, error) {
	b := &Bus{
		prefix:     opts.Prefix,
		maxLen:     opts.MaxLen,
		lastSeqTTL: opts.LastSeqTTL,
		logger:     opts.Logger,
	}
	if b.prefix == "" {
		b.prefix = DefaultPrefix
	}
	if b.maxLen <= 0 {
		b.maxLen = DefaultMaxLen
	}
	if b.lastSeqTTL <= 0 {
		b.lastSeqTTL = DefaultLastSeqTTL
	}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	b.logger = b.logger.With("component", "bus")
	b.durable = newDurability(opts.MinReplicas, opts.WaitTimeout)

	if opts.URL == "" {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		b.embedded = m
		b.rdb = redis.NewClient(&redis.Options{Addr: m.Addr(), DisableIdentity: true, MaintNotificationsConfig: noMaint()})
		b.mode = modeSingle
		b.logger.Warn("no Redis URL configured: using an embedded in-process Redis; NOTHING IS PERSISTED and other processes cannot share it — fine for a try-out, not for production",
			"addr", m.Addr())
		return b, nil
	}

	rdb, m, err := newClient(opts.URL)
	if err != nil {
		return nil, err
	}
	if m == modeCluster && !hasHashTag(b.prefix) {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis URL %s with prefix %q: %w", Redact(opts.URL), b.prefix, ErrClusterPrefix)
	}
	b.rdb, b.mode = rdb, m
	b.logger.Info("redis", "url", Redact(opts.URL), "mode", string(m), "prefix", b.prefix, "min_replicas", b.durable.describe())
	return b, nil
}

// Client is the underlying go-redis client, for commands this package does
// not wrap. Build key names with Key.
func (b *Bus) Client() redis.UniversalClient { return b.rdb }

// Embedded reports whether the bus runs on the embedded in-process Redis.
func (b *Bus) Embedded() bool { return b.embedded != nil }

// Addr is the embedded Redis's loopback address, or "" for an external one.
// Other components of the same process (demo) connect to it with this.
func (b *Bus) Addr() string {
	if b.embedded == nil {
		return ""
	}
	return b.embedded.Addr()
}

// Ping checks that Redis answers.
func (b *Bus) Ping(ctx context.Context) error {
	if err := b.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close closes the connection and stops the embedded Redis, if any.
func (b *Bus) Close() error {
	err := b.rdb.Close()
	if b.embedded != nil {
		b.embedded.Close()
	}
	if errors.Is(err, redis.ErrClosed) {
		err = nil
	}
	return err
}
