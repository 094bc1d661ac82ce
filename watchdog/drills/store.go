package drills

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key names under the bus prefix (docs/wire-format.md).
const (
	// KeyRuns is a sorted set of run ids, score = the run's start (Unix ms).
	KeyRuns = "drill:runs"
	// KeyRun prefixes a run's JSON: "drill:run:" + id.
	KeyRun = "drill:run:"
)

// ErrNotFound: no run has that id, or none is recorded.
var ErrNotFound = errors.New("no such drill run")

// maxRunLength bounds how long before a period a run that overlaps it may
// have started (Between): no drill script runs for a day.
const maxRunLength = 24 * time.Hour

// Store keeps drill runs in Redis. Runs are records: they are not expired.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewStore returns the store under the bus prefix.
func NewStore(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

// Put writes a run (a whole record each time: one player writes a run).
func (s *Store) Put(ctx context.Context, r Run) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode drill run %s: %w", r.ID, err)
	}
	pipe := s.rdb.TxPipeline()
	pipe.Set(ctx, s.prefix+KeyRun+r.ID, data, 0)
	pipe.ZAdd(ctx, s.prefix+KeyRuns, redis.Z{Score: float64(r.StartedAt.UnixMilli()), Member: r.ID})
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("write drill run %s: %w", r.ID, err)
	}
	return nil
}

// Get reads one run; the error wraps ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, id string) (Run, error) {
	data, err := s.rdb.Get(ctx, s.prefix+KeyRun+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return Run{}, fmt.Errorf("drill run %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Run{}, fmt.Errorf("read drill run %s: %w", id, err)
	}
	var r Run
	if err := json.Unmarshal(data, &r); err != nil {
		return Run{}, fmt.Errorf("drill run %s: bad record: %w", id, err)
	}
	return r, nil
}

// List returns the newest runs, newest first (limit ≤ 0: all).
func (s *Store) List(ctx context.Context, limit int) ([]Run, error) {
	stop := int64(-1)
	if limit > 0 {
		stop = int64(limit) - 1
	}
	ids, err := s.rdb.ZRevRange(ctx, s.prefix+KeyRuns, 0, stop).Result()
	if err != nil {
		return nil, fmt.Errorf("list drill runs: %w", err)
	}
	return s.getAll(ctx, ids)
}

// Latest returns the newest run; the error wraps ErrNotFound when none is
// recorded.
func (s *Store) Latest(ctx context.Context) (Run, error) {
	runs, err := s.List(ctx, 1)
	if err != nil {
		return Run{}, err
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("no drill recorded yet: %w", ErrNotFound)
	}
	return runs[0], nil
}

// Between returns the runs that held at some time in [from, to), oldest
// first: what the period report holds its incidents against.
func (s *Store) Between(ctx context.Context, from, to time.Time) ([]Run, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, s.prefix+KeyRuns, &redis.ZRangeBy{
		Min: strconv.FormatInt(from.Add(-maxRunLength).UnixMilli(), 10),
		Max: "(" + strconv.FormatInt(to.UnixMilli(), 10),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("list drill runs: %w", err)
	}
	runs, err := s.getAll(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := runs[:0]
	for _, r := range runs {
		if r.End(r.StartedAt.Add(r.PlannedLength)).After(from) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *Store) getAll(ctx context.Context, ids []string) ([]Run, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.prefix + KeyRun + id
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("read drill runs: %w", err)
	}
	var out []Run
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // listed, its record gone: skipped
		}
		var r Run
		if err := json.Unmarshal([]byte(str), &r); err != nil {
			return nil, fmt.Errorf("drill run %s: bad record: %w", ids[i], err)
		}
		out = append(out, r)
	}
	return out, nil
}
