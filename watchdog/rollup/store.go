package rollup

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"
)

// readChunk is how many keys one MGET or pipeline reads.
const readChunk = 512

// RedisStore reads the roll-ups the watchdog's consumers write to Redis
// (Reader), writes the health roll-ups, and packs closed days and quiet
// sessions (Compact).
type RedisStore struct {
	rdb       redis.UniversalClient
	prefix    string
	loc       *time.Location
	retention time.Duration
}

// NewRedisStore returns a store over the keys under prefix; loc is the
// report time zone days are packed in, retention how long roll-ups are
// kept (reports.rollup_retention).
func NewRedisStore(rdb redis.UniversalClient, prefix string, loc *time.Location, retention time.Duration) *RedisStore {
	if loc == nil {
		loc = time.UTC
	}
	return &RedisStore{rdb: rdb, prefix: prefix, loc: loc, retention: retention}
}

func (s *RedisStore) key(name string) string { return s.prefix + name }

// Hourly implements Reader: packed days' hours and live hours alike.
func (s *RedisStore) Hourly(ctx context.Context, from, to time.Time, fn func(Row) error) error {
	live, err := s.liveHours(ctx, from, to)
	if err != nil {
		return err
	}
	dims, err := s.dims(ctx, from)
	if err != nil {
		return err
	}
	days := s.days(from, to)
	var day Day
	err = s.eachPacked(ctx, days, dims, false, func(_ time.Time, d Dim, b []byte) error {
		if err := decodeDay(b, &day); err != nil {
			return fmt.Errorf("day %s of %s: %w", day.Base.Format(time.RFC3339), d.Key(), err)
		}
		for i := range day.Hours {
			h := &day.Hours[i]
			if h.Hour.Before(from) || !h.Hour.Before(to) {
				continue
			}
			k := hourDim{hour: h.Hour.Unix(), dim: d}
			if l, ok := live[k]; ok {
				h.Stats.Merge(l)
				delete(live, k)
			}
			if err := fn(Row{Dim: d, Start: h.Hour, Span: time.Hour, Stats: h.Stats}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k, st := range live {
		if err := fn(Row{Dim: k.dim, Start: time.Unix(k.hour, 0).UTC(), Span: time.Hour, Stats: *st}); err != nil {
			return err
		}
	}
	return nil
}

// Daily implements Reader. In the store's own zone a day is its packed
// total (plus any hours that arrived after it was packed), or the sum of
// its live hours; in another zone days are summed from hours.
func (s *RedisStore) Daily(ctx context.Context, loc *time.Location, from, to time.Time, fn func(Row) error) error {
	if loc == nil {
		loc = s.loc
	}
	if loc.String() != s.loc.String() {
		return s.dailyFromHours(ctx, loc, from, to, fn)
	}
	type dayDim struct {
		day int64
		dim Dim
	}
	live, err := s.liveHours(ctx, from, to)
	if err != nil {
		return err
	}
	sums := map[dayDim]*Stats{}
	for k, st := range live {
		dd := dayDim{DayOf(time.Unix(k.hour, 0), loc).Unix(), k.dim}
		if cur := sums[dd]; cur != nil {
			cur.Merge(st)
		} else {
			sums[dd] = st
		}
	}
	dims, err := s.dims(ctx, from)
	if err != nil {
		return err
	}
	err = s.eachPacked(ctx, s.days(from, to), dims, true, func(day time.Time, d Dim, b []byte) error {
		_, total, err := DecodeDayTotal(b)
		if err != nil {
			return fmt.Errorf("day %s of %s: %w", DayName(day, loc), d.Key(), err)
		}
		dd := dayDim{day.Unix(), d}
		if l, ok := sums[dd]; ok {
			total.Merge(l)
			delete(sums, dd)
		}
		return fn(Row{Dim: d, Start: day, Span: DaySpan(day), Stats: total})
	})
	if err != nil {
		return err
	}
	for k, st := range sums {
		day := time.Unix(k.day, 0).In(loc)
		if err := fn(Row{Dim: k.dim, Start: day, Span: DaySpan(day), Stats: *st}); err != nil {
			return err
		}
	}
	return nil
}

// dailyFromHours sums hours into days of loc.
func (s *RedisStore) dailyFromHours(ctx context.Context, loc *time.Location, from, to time.Time, fn func(Row) error) error {
	type dayDim struct {
		day int64
		dim Dim
	}
	sums := map[dayDim]*Row{}
	err := s.Hourly(ctx, from, to, func(r Row) error {
		day := DayOf(r.Start, loc)
		k := dayDim{day.Unix(), r.Dim}
		cur := sums[k]
		if cur == nil {
			cur = &Row{Dim: r.Dim, Start: day, Span: DaySpan(day)}
			sums[k] = cur
		}
		cur.Stats.Merge(&r.Stats)
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range sums {
		if err := fn(*r); err != nil {
			return err
		}
	}
	return nil
}

// days returns the midnights (in the store's zone) of the days that hold
// an hour of [from, to).
func (s *RedisStore) days(from, to time.Time) []time.Time {
	var out []time.Time
	if !from.Before(to) {
		return nil
	}
	last := DayOf(to.Add(-time.Nanosecond), s.loc)
	for d := DayOf(from, s.loc); !d.After(last); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

// dims returns the Dims seen since from.
func (s *RedisStore) dims(ctx context.Context, from time.Time) ([]Dim, error) {
	ms, err := s.rdb.ZRangeByScore(ctx, s.key(KeyDims), &redis.ZRangeBy{Min: strconv.FormatInt(from.UnixMilli(), 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("read roll-up dims: %w", err)
	}
	out := make([]Dim, 0, len(ms))
	for _, m := range ms {
		if d, ok := ParseDim(m); ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// headScript returns the first ARGV[1] bytes of each key ("" for none):
// what Daily needs of a packed day is its head (the total), a tenth of it.
var headScript = redis.NewScript(`
local out = {}
for i, k in ipairs(KEYS) do out[i] = redis.call('GETRANGE', k, 0, ARGV[1]) end
return out
`)

// headBytes is how much of a packed day Daily reads first: enough for the
// total of an ordinary day; a longer one is read again whole.
const headBytes = 192

// eachPacked calls fn for every packed day of days × dims that exists,
// reading in chunks: whole (MGET), or with head only the first headBytes
// of each, and the rest only of a day whose total goes past them; fn gets
// the bytes for the length of its call only.
func (s *RedisStore) eachPacked(ctx context.Context, days []time.Time, dims []Dim, head bool, fn func(day time.Time, d Dim, b []byte) error) error {
	type ref struct {
		day time.Time
		dim Dim
	}
	keys := make([]string, 0, readChunk)
	refs := make([]ref, 0, readChunk)
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		var vals []any
		var err error
		if head {
			vals, err = headScript.Run(ctx, s.rdb, keys, headBytes-1).Slice()
		} else {
			vals, err = s.rdb.MGet(ctx, keys...).Result()
		}
		if err != nil {
			return fmt.Errorf("read packed days: %w", err)
		}
		for i, v := range vals {
			str, ok := v.(string)
			if !ok || str == "" {
				continue
			}
			if head && len(str) == headBytes && !headHoldsTotal(bytesOf(str)) {
				if str, err = s.rdb.Get(ctx, keys[i]).Result(); err != nil {
					return fmt.Errorf("read packed day %s: %w", keys[i], err)
				}
			}
			if err := fn(refs[i].day, refs[i].dim, bytesOf(str)); err != nil {
				return err
			}
		}
		keys, refs = keys[:0], refs[:0]
		return nil
	}
	dimKeys := make([]string, len(dims))
	for i, d := range dims {
		dimKeys[i] = d.Key()
	}
	for _, day := range days {
		dn := s.prefix + KeyDay + DayName(day, s.loc) + ":"
		for i, d := range dims {
			keys = append(keys, dn+dimKeys[i])
			refs = append(refs, ref{day, d})
			if len(keys) == readChunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// liveHours reads the live hour hashes of [from, to).
func (s *RedisStore) liveHours(ctx context.Context, from, to time.Time) (map[hourDim]*Stats, error) {
	ms, err := s.rdb.ZRangeByScore(ctx, s.key(KeyHours), &redis.ZRangeBy{
		Min: strconv.FormatInt(from.UnixMilli(), 10), Max: "(" + strconv.FormatInt(to.UnixMilli(), 10)}).Result()
	if err != nil {
		return nil, fmt.Errorf("read live hours: %w", err)
	}
	out := make(map[hourDim]*Stats, len(ms))
	for lo := 0; lo < len(ms); lo += readChunk {
		part := ms[lo:min(lo+readChunk, len(ms))]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(part))
		for i, m := range part {
			cmds[i] = pipe.HGetAll(ctx, s.key(KeyHour+m))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("read live hours: %w", err)
		}
		for i, m := range part {
			h, d, ok := parseHourMember(m)
			if !ok {
				continue
			}
			st, err := statsFromHash(cmds[i].Val())
			if err != nil {
				return nil, fmt.Errorf("hour %s: %w", m, err)
			}
			if st.Empty() {
				continue // expired, or packed meanwhile
			}
			k := hourDim{hour: h.Unix(), dim: d}
			if cur := out[k]; cur != nil {
				cur.Merge(&st)
			} else {
				out[k] = &st
			}
		}
	}
	return out, nil
}

// Sessions implements Reader.
func (s *RedisStore) Sessions(ctx context.Context, from, to time.Time, fn func(SessionRow) error) error {
	ids, err := s.rdb.ZRangeByScore(ctx, s.key(KeySessions), &redis.ZRangeBy{
		Min: strconv.FormatInt(from.UnixMilli(), 10), Max: "(" + strconv.FormatInt(to.UnixMilli(), 10)}).Result()
	if err != nil {
		return fmt.Errorf("read sessions: %w", err)
	}
	var sess Session
	for lo := 0; lo < len(ids); lo += readChunk {
		part := ids[lo:min(lo+readChunk, len(ids))]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(part))
		for i, id := range part {
			cmds[i] = pipe.HGetAll(ctx, s.key(KeySession+id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("read sessions: %w", err)
		}
		for i, id := range part {
			if err := sessionFromHashInto(cmds[i].Val(), &sess); err != nil {
				return fmt.Errorf("session %s: %w", id, err)
			}
			for _, d := range sess.Dims {
				if err := fn(SessionRow{Session: id, Dim: d.Dim, Stats: d.Stats}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// bytesOf returns s's bytes without a copy, for the decoders, which only
// read them (a year's report reads a hundred megabytes of packed days).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
