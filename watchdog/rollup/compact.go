package rollup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Compaction defaults: a day is packed DefaultGrace after it ended (an
// agent's spool replayed after an outage lands in its live hours first), a
// session once it has been quiet for DefaultQuiet.
const (
	DefaultGrace = 3 * time.Hour
	DefaultQuiet = time.Hour
	// compactBatch bounds the index entries one Compact call takes on.
	compactBatch = 5000
)

// CompactResult says what one Compact call packed.
type CompactResult struct {
	Days, Hours, Sessions, HealthDays int
	// More is true when it stopped at its bound with more to do.
	More bool
}

// Compact packs what can no longer change, as of now: each Dim's days of
// the store's zone that ended at least grace ago (their live hours become
// one string, merged with what an earlier pass packed, and the hours are
// deleted), the health hours of those days likewise, and the sessions quiet
// for quiet; and it forgets Dims and sessions older than the retention. It
// is idempotent and safe when two leaders run it at once: each pack is a
// WATCH/MULTI transaction over the keys it reads, so a pack that raced an
// ingest or another pack is skipped and done again on the next call.
func (s *RedisStore) Compact(ctx context.Context, now time.Time, grace, quiet time.Duration) (CompactResult, error) {
	var res CompactResult
	cutoff := DayOf(now.Add(-grace), s.loc)
	if err := s.compactDays(ctx, cutoff, &res); err != nil {
		return res, err
	}
	if err := s.compactHealth(ctx, cutoff, &res); err != nil {
		return res, err
	}
	if err := s.compactSessions(ctx, now.Add(-quiet), &res); err != nil {
		return res, err
	}
	old := "(" + strconv.FormatInt(now.Add(-s.retention).UnixMilli(), 10)
	pipe := s.rdb.Pipeline()
	pipe.ZRemRangeByScore(ctx, s.key(KeyDims), "-inf", old)
	pipe.ZRemRangeByScore(ctx, s.key(KeySessions), "-inf", old)
	if _, err := pipe.Exec(ctx); err != nil {
		return res, fmt.Errorf("prune roll-up indexes: %w", err)
	}
	return res, nil
}

func (s *RedisStore) before(ctx context.Context, key string, t time.Time) ([]string, error) {
	return s.rdb.ZRangeByScore(ctx, s.key(key), &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(t.UnixMilli(), 10), Count: compactBatch}).Result()
}

// compactDays packs the live hours of the days before cutoff.
func (s *RedisStore) compactDays(ctx context.Context, cutoff time.Time, res *CompactResult) error {
	ms, err := s.before(ctx, KeyHours, cutoff)
	if err != nil {
		return fmt.Errorf("list live hours: %w", err)
	}
	res.More = res.More || len(ms) == compactBatch
	type group struct {
		day     time.Time
		dim     Dim
		members []string
	}
	groups := map[string]*group{}
	var order []string
	for _, m := range ms {
		h, d, ok := parseHourMember(m)
		if !ok {
			s.rdb.ZRem(ctx, s.key(KeyHours), m) // not ours to read: drop it from the index
			continue
		}
		day := DayOf(h, s.loc)
		gk := DayName(day, s.loc) + ":" + d.Key()
		g := groups[gk]
		if g == nil {
			g = &group{day: day, dim: d}
			groups[gk] = g
			order = append(order, gk)
		}
		g.members = append(g.members, m)
	}
	for _, gk := range order {
		g := groups[gk]
		err := s.packDay(ctx, KeyDay+gk, g.day, g.members)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			res.More = true
		case err != nil:
			return err
		default:
			res.Days++
			res.Hours += len(g.members)
		}
	}
	return nil
}

// packDay merges the hours named by members (KeyHours members of one Dim
// and day) into the day's packed string, and deletes them, atomically.
func (s *RedisStore) packDay(ctx context.Context, dayKey string, day time.Time, members []string) error {
	keys := []string{s.key(dayKey)}
	for _, m := range members {
		keys = append(keys, s.key(KeyHour+m))
	}
	return s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		hours := map[int64]*Stats{}
		old, err := tx.Get(ctx, keys[0]).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return fmt.Errorf("read %s: %w", dayKey, err)
		default:
			d, err := DecodeDay(old)
			if err != nil {
				return fmt.Errorf("read %s: %w", dayKey, err)
			}
			for i := range d.Hours {
				st := d.Hours[i].Stats
				hours[d.Hours[i].Hour.Unix()] = &st
			}
		}
		for i, m := range members {
			h, err := tx.HGetAll(ctx, keys[i+1]).Result()
			if err != nil {
				return fmt.Errorf("read hour %s: %w", m, err)
			}
			st, err := statsFromHash(h)
			if err != nil {
				return fmt.Errorf("hour %s: %w", m, err)
			}
			if st.Empty() {
				continue
			}
			t, _, _ := parseHourMember(m)
			if cur := hours[t.Unix()]; cur != nil {
				cur.Merge(&st)
			} else {
				hours[t.Unix()] = &st
			}
		}
		list := make([]HourStats, 0, len(hours))
		for h, st := range hours {
			list = append(list, HourStats{Hour: time.Unix(h, 0).UTC(), Stats: *st})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Hour.Before(list[j].Hour) })
		var packed []byte
		if len(list) > 0 {
			if packed, err = EncodeDay(Hour(day), list); err != nil {
				return err
			}
		}
		return s.writePacked(ctx, tx, keys, packed, day, KeyHours, members)
	}, keys...)
}

// writePacked replaces, in tx, the live hours keys[1:] (members of the
// index) with the packed day at keys[0]: the day is written unless it is
// empty (nil), the hours and their index entries go either way.
func (s *RedisStore) writePacked(ctx context.Context, tx *redis.Tx, keys []string, packed []byte, day time.Time, index string, members []string) error {
	_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if packed != nil {
			p.Set(ctx, keys[0], packed, 0)
			p.ExpireAt(ctx, keys[0], day.AddDate(0, 0, 1).Add(s.retention))
		}
		p.Del(ctx, keys[1:]...)
		ms := make([]any, len(members))
		for i, m := range members {
			ms[i] = m
		}
		p.ZRem(ctx, s.key(index), ms...)
		return nil
	})
	return err
}

// compactHealth packs the live health hours of the days before cutoff,
// one string per day.
func (s *RedisStore) compactHealth(ctx context.Context, cutoff time.Time, res *CompactResult) error {
	hs, err := s.before(ctx, KeyHealthHours, cutoff)
	if err != nil {
		return fmt.Errorf("list live health hours: %w", err)
	}
	res.More = res.More || len(hs) == compactBatch
	byDay := map[string][]string{}
	var order []string
	for _, hn := range hs {
		h, err := time.Parse(hourFmt, hn)
		if err != nil {
			s.rdb.ZRem(ctx, s.key(KeyHealthHours), hn)
			continue
		}
		dn := DayName(h, s.loc)
		if _, ok := byDay[dn]; !ok {
			order = append(order, dn)
		}
		byDay[dn] = append(byDay[dn], hn)
	}
	for _, dn := range order {
		err := s.packHealthDay(ctx, dn, byDay[dn])
		switch {
		case errors.Is(err, redis.TxFailedErr):
			res.More = true
		case err != nil:
			return err
		default:
			res.HealthDays++
		}
	}
	return nil
}

func (s *RedisStore) packHealthDay(ctx context.Context, dn string, hours []string) error {
	keys := []string{s.key(KeyHealthDay + dn)}
	for _, hn := range hours {
		keys = append(keys, s.key(KeyHealthHour+hn))
	}
	day, err := time.ParseInLocation(dayFmt, dn, s.loc)
	if err != nil {
		return fmt.Errorf("health day %q: %w", dn, err)
	}
	return s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		rows := map[HealthKey]*HealthRow{}
		old, err := tx.Get(ctx, keys[0]).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return fmt.Errorf("read health day %s: %w", dn, err)
		default:
			rs, err := DecodeHealthDay(old)
			if err != nil {
				return fmt.Errorf("health day %s: %w", dn, err)
			}
			for i := range rs {
				r := rs[i]
				rows[HealthKey{Server: r.Server, Check: r.Check, Metric: r.Metric, Hour: r.Start}] = &r
			}
		}
		for i, hn := range hours {
			h, err := tx.HGetAll(ctx, keys[i+1]).Result()
			if err != nil {
				return fmt.Errorf("read health hour %s: %w", hn, err)
			}
			hour, _ := time.Parse(hourFmt, hn)
			live := map[HealthKey]*HealthRow{}
			if err := healthFromHash(h, hour, live); err != nil {
				return fmt.Errorf("health hour %s: %w", hn, err)
			}
			for k, r := range live {
				if cur := rows[k]; cur != nil {
					cur.Merge(r)
				} else {
					rows[k] = r
				}
			}
		}
		list := make([]HealthRow, 0, len(rows))
		for _, r := range rows {
			list = append(list, *r)
		}
		sort.Slice(list, func(i, j int) bool {
			a, b := &list[i], &list[j]
			if !a.Start.Equal(b.Start) {
				return a.Start.Before(b.Start)
			}
			if a.Server != b.Server {
				return a.Server < b.Server
			}
			if a.Check != b.Check {
				return a.Check < b.Check
			}
			return a.Metric < b.Metric
		})
		var packed []byte
		if len(list) > 0 {
			if packed, err = EncodeHealthDay(Hour(day), list); err != nil {
				return err
			}
		}
		return s.writePacked(ctx, tx, keys, packed, day, KeyHealthHours, hours)
	}, keys...)
}

// compactSessions packs the sessions whose last window is before quietAt:
// the hash keeps its room, first and last window and one packed field.
func (s *RedisStore) compactSessions(ctx context.Context, quietAt time.Time, res *CompactResult) error {
	ids, err := s.before(ctx, KeyLiveSessions, quietAt)
	if err != nil {
		return fmt.Errorf("list live sessions: %w", err)
	}
	res.More = res.More || len(ids) == compactBatch
	for _, id := range ids {
		key := s.key(KeySession + id)
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			h, err := tx.HGetAll(ctx, key).Result()
			if err != nil {
				return fmt.Errorf("read session %s: %w", id, err)
			}
			sess, err := sessionFromHash(h)
			if err != nil {
				return fmt.Errorf("session %s: %w", id, err)
			}
			first, _ := strconv.ParseInt(h[fieldFirst], 10, 64)
			last, _ := strconv.ParseInt(h[fieldLast], 10, 64)
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				if len(h) > 0 {
					p.Del(ctx, key)
					p.HSet(ctx, key, sessRoom, sess.Room, sessPacked, EncodeSession(&sess), fieldFirst, first, fieldLast, last)
					p.ExpireAt(ctx, key, time.UnixMilli(last).Add(s.retention))
				}
				p.ZRem(ctx, s.key(KeyLiveSessions), id)
				return nil
			})
			return err
		}, key)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			res.More = true
		case err != nil:
			return err
		default:
			res.Sessions++
		}
	}
	return nil
}
