package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ScheduledSession is one bid opening (开标场次) a probe agent knows of, as it
// tells the console: the session, and the agent's key tells who covers it.
type ScheduledSession struct {
	ID    string `json:"id"`
	Room  string `json:"room"`
	Title string `json:"title,omitempty"`
	// OpensAt is when the opening starts; DurationMS how long it is
	// expected to last, in milliseconds.
	OpensAt    time.Time `json:"opens_at"`
	DurationMS int64     `json:"duration_ms"`
	// Cancelled sessions are listed but not probed.
	Cancelled bool `json:"cancelled,omitempty"`
	// AdHoc marks a "probe this room now" request (its ID is
	// "adhoc:<command id>").
	AdHoc bool `json:"adhoc,omitempty"`
}

// EndsAt is when the session is expected to end.
func (s ScheduledSession) EndsAt() time.Time {
	return s.OpensAt.Add(time.Duration(s.DurationMS) * time.Millisecond)
}

// ErrBadTTL is returned by PutSchedule for a TTL that is not positive: a
// schedule that never expires would outlive its probe.
var ErrBadTTL = errors.New("ttl must be positive")

// PutSchedule replaces the sessions probeID covers, kept for ttl: the agent
// writes them at every heartbeat, so a dead probe's claims expire.
func (b *Bus) PutSchedule(ctx context.Context, probeID string, sessions []ScheduledSession, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("write schedule of %s: %w, got %s", probeID, ErrBadTTL, ttl)
	}
	if sessions == nil {
		sessions = []ScheduledSession{} // "[]": the probe covers nothing, not "unknown"
	}
	data, err := json.Marshal(sessions)
	if err != nil {
		return fmt.Errorf("encode schedule of %s: %w", probeID, err)
	}
	if err := b.rdb.Set(ctx, b.Key(KeySchedule+probeID), data, ttl).Err(); err != nil {
		return fmt.Errorf("write schedule of %s: %w", probeID, err)
	}
	return nil
}

// DeleteSchedule removes probeID's sessions, as an agent does when it stops:
// a stopped probe covers nothing.
func (b *Bus) DeleteSchedule(ctx context.Context, probeID string) error {
	if err := b.rdb.Del(ctx, b.Key(KeySchedule+probeID)).Err(); err != nil {
		return fmt.Errorf("delete schedule of %s: %w", probeID, err)
	}
	return nil
}

// Schedules reads the sessions every probe covers, by probe id. The probes
// are those with a heartbeat in KeyProbes (no SCAN, which a Cluster answers
// per node); a probe whose schedule expired or was never written is left
// out, and one that does not decode is skipped and logged. With a Cluster
// the prefix's hash tag keeps every key in one slot, so one MGET reads them.
func (b *Bus) Schedules(ctx context.Context) (map[string][]ScheduledSession, error) {
	ids, err := b.rdb.HKeys(ctx, b.Key(KeyProbes)).Result()
	if err != nil {
		return nil, fmt.Errorf("read schedules: probes: %w", err)
	}
	out := make(map[string][]ScheduledSession, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = b.Key(KeySchedule + id)
	}
	vals, err := b.rdb.MGet(ctx, keys...).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read schedules: %w", err)
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // expired, or never written
		}
		var sessions []ScheduledSession
		if err := json.Unmarshal([]byte(s), &sessions); err != nil {
			b.logger.Warn("skipping bad schedule", "probe", ids[i], "err", err)
			continue
		}
		if sessions == nil {
			sessions = []ScheduledSession{}
		}
		out[ids[i]] = sessions
	}
	return out, nil
}
