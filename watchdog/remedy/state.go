package remedy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keys, under the bus prefix:
//
//	remedy:runbook:<name>          hash {suspended, reason, suspended_at, failures}
//	remedy:runbook:<name>:runs     list of the last runs (JSON, newest first)
//	remedy:target:<cause:subject>  last run on a target (unix ms; cooldown)
//	remedy:attempt:<incident>:<runbook>[:<spell>]  an attempt (attempt.go)
//	remedy:cursor                  the last incident event handled
//	rate:<prefix>remedy:rate:<runbook>  redis_rate's hourly limit
//	remedy:hour:<runbook>          sorted set of the runs in the last hour (exact limit)
const (
	keyRunbook = "remedy:runbook:"
	keyTarget  = "remedy:target:"
	keyAttempt = "remedy:attempt:"
	keyCursor  = "remedy:cursor"
	keyRate    = "remedy:rate:"
)

// keepRuns is how many last runs a runbook keeps; keepTarget how long a
// target's last run is kept (longer than any sane cooldown).
const (
	keepRuns   = 20
	keepTarget = 24 * time.Hour
)

// ErrUnknownRunbook: no runbook has that name in the config.
var ErrUnknownRunbook = errors.New("no such runbook")

// RunbookState is a runbook's state in Redis.
type RunbookState struct {
	Name      string `json:"name"`
	Suspended bool   `json:"suspended"`
	// Reason says why it was suspended; SuspendedAt when.
	Reason      string    `json:"reason,omitempty"`
	SuspendedAt time.Time `json:"suspended_at,omitzero"`
	// Failures are its failed verifications in a row.
	Failures int `json:"failures"`
	// Runs are its last runs, newest first.
	Runs []RunRecord `json:"runs,omitempty"`
}

// RunRecord is one run in a runbook's history.
type RunRecord struct {
	Incident string    `json:"incident"`
	At       time.Time `json:"at"`
	Result   string    `json:"result"`
	Reason   string    `json:"reason,omitempty"`
}

// States keeps runbook state in Redis.
type States struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewStates returns the runbook state under prefix ("bidwatch:").
func NewStates(rdb redis.UniversalClient, prefix string) *States {
	return &States{rdb: rdb, prefix: prefix}
}

func (s *States) key(k string) string { return s.prefix + k }

// Get reads a runbook's state.
func (s *States) Get(ctx context.Context, name string) (RunbookState, error) {
	st := RunbookState{Name: name}
	h, err := s.rdb.HGetAll(ctx, s.key(keyRunbook+name)).Result()
	if err != nil {
		return st, fmt.Errorf("read runbook %s: %w", name, err)
	}
	st.Suspended = h["suspended"] == "1"
	st.Reason = h["reason"]
	if ms, err := strconv.ParseInt(h["suspended_at"], 10, 64); err == nil {
		st.SuspendedAt = time.UnixMilli(ms)
	}
	st.Failures, _ = strconv.Atoi(h["failures"])
	runs, err := s.rdb.LRange(ctx, s.key(keyRunbook+name+":runs"), 0, -1).Result()
	if err != nil {
		return st, fmt.Errorf("read runs of %s: %w", name, err)
	}
	for _, r := range runs {
		var rr RunRecord
		if json.Unmarshal([]byte(r), &rr) == nil {
			st.Runs = append(st.Runs, rr)
		}
	}
	return st, nil
}

// Record adds a run to a runbook's history.
func (s *States) Record(ctx context.Context, name string, r RunRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode run: %w", err)
	}
	k := s.key(keyRunbook + name + ":runs")
	pipe := s.rdb.TxPipeline()
	pipe.LPush(ctx, k, b)
	pipe.LTrim(ctx, k, 0, keepRuns-1)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("record a run of %s: %w", name, err)
	}
	return nil
}

// Failed counts a failed verification and returns the failures in a row.
func (s *States) Failed(ctx context.Context, name string) (int, error) {
	n, err := s.rdb.HIncrBy(ctx, s.key(keyRunbook+name), "failures", 1).Result()
	if err != nil {
		return 0, fmt.Errorf("count a failure of %s: %w", name, err)
	}
	return int(n), nil
}

// Verified resets the failures in a row.
func (s *States) Verified(ctx context.Context, name string) error {
	if err := s.rdb.HSet(ctx, s.key(keyRunbook+name), "failures", 0).Err(); err != nil {
		return fmt.Errorf("reset the failures of %s: %w", name, err)
	}
	return nil
}

// Suspend suspends a runbook until a person re-enables it.
func (s *States) Suspend(ctx context.Context, name, reason string, now time.Time) error {
	err := s.rdb.HSet(ctx, s.key(keyRunbook+name), "suspended", "1", "reason", reason, "suspended_at", now.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("suspend %s: %w", name, err)
	}
	return nil
}

// Enable re-enables a suspended runbook and resets its failures (for
// `bidwatch runbooks enable`).
func (s *States) Enable(ctx context.Context, name string) error {
	pipe := s.rdb.TxPipeline()
	pipe.HDel(ctx, s.key(keyRunbook+name), "suspended", "reason", "suspended_at")
	pipe.HSet(ctx, s.key(keyRunbook+name), "failures", 0)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("enable %s: %w", name, err)
	}
	return nil
}

// LastRun returns when a runbook last ran on a target (zero: not within
// a day).
func (s *States) LastRun(ctx context.Context, target string) (time.Time, error) {
	v, err := s.rdb.Get(ctx, s.key(keyTarget+target)).Int64()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read the last run on %s: %w", target, err)
	}
	return time.UnixMilli(v), nil
}

// Ran records a run on a target now.
func (s *States) Ran(ctx context.Context, target string, now time.Time) error {
	if err := s.rdb.Set(ctx, s.key(keyTarget+target), now.UnixMilli(), keepTarget).Err(); err != nil {
		return fmt.Errorf("record a run on %s: %w", target, err)
	}
	return nil
}
