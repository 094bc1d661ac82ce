package rollup

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/watchdog/health"
)

// The health roll-ups in Redis: the leader adds each reading to its hour's
// hash; Compact packs a day's hours into one string; Health reads both.

// healthScript adds one reading's deltas to its hour's health hash.
// KEYS: the hour hash, the live health hours' index. ARGV: expire-at (Unix
// s), the hour (Unix ms), its name, then per delta: field prefix, checks,
// failed, has a value ("1"/"0"), value.
var healthScript = redis.NewScript(`
local k = KEYS[1]
local i = 4
while i <= #ARGV do
  local p = ARGV[i]
  if ARGV[i + 1] ~= '0' then redis.call('HINCRBY', k, p .. 'c', ARGV[i + 1]) end
  if ARGV[i + 2] ~= '0' then redis.call('HINCRBY', k, p .. 'f', ARGV[i + 2]) end
  if ARGV[i + 3] == '1' then
    local v = tonumber(ARGV[i + 4])
    redis.call('HINCRBY', k, p .. 'n', 1)
    redis.call('HINCRBYFLOAT', k, p .. 's', ARGV[i + 4])
    local lo = redis.call('HGET', k, p .. 'lo')
    if not lo or v < tonumber(lo) then redis.call('HSET', k, p .. 'lo', ARGV[i + 4]) end
    local hi = redis.call('HGET', k, p .. 'hi')
    if not hi or v > tonumber(hi) then redis.call('HSET', k, p .. 'hi', ARGV[i + 4]) end
  end
  i = i + 5
end
redis.call('EXPIREAT', k, ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
`)

// AddReading folds one health reading into its hour's health roll-ups.
func (s *RedisStore) AddReading(ctx context.Context, r health.Reading) error {
	ds := HealthDeltas(&r)
	if len(ds) == 0 || r.Server == "" {
		return nil
	}
	hour := Hour(r.At)
	hn := HourName(hour)
	args := []any{hour.Add(time.Hour + s.retention).Unix(), hour.UnixMilli(), hn}
	for i := range ds {
		d := &ds[i]
		has := "0"
		if d.HasVal {
			has = "1"
		}
		args = append(args, healthField(d.Key.Server, d.Key.Check, d.Key.Metric), d.Checks, d.Failed, has, strconv.FormatFloat(d.Value, 'g', -1, 64))
	}
	if err := healthScript.Run(ctx, s.rdb, []string{s.key(KeyHealthHour + hn), s.key(KeyHealthHours)}, args...).Err(); err != nil {
		return fmt.Errorf("write health roll-up: %w", err)
	}
	return nil
}

func healthField(server, check, metric string) string {
	return server + "|" + check + "|" + metric + "|"
}

// Health implements Reader.
func (s *RedisStore) Health(ctx context.Context, from, to time.Time, fn func(HealthRow) error) error {
	live, err := s.liveHealth(ctx, from, to)
	if err != nil {
		return err
	}
	days := s.days(from, to)
	for lo := 0; lo < len(days); lo += readChunk {
		part := days[lo:min(lo+readChunk, len(days))]
		keys := make([]string, len(part))
		for i, d := range part {
			keys[i] = s.key(KeyHealthDay + DayName(d, s.loc))
		}
		vals, err := s.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return fmt.Errorf("read packed health: %w", err)
		}
		for i, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue
			}
			rows, err := DecodeHealthDay(bytesOf(str))
			if err != nil {
				return fmt.Errorf("health day %s: %w", DayName(part[i], s.loc), err)
			}
			for _, r := range rows {
				if r.Start.Before(from) || !r.Start.Before(to) {
					continue
				}
				k := HealthKey{Server: r.Server, Check: r.Check, Metric: r.Metric, Hour: r.Start}
				if l, ok := live[k]; ok {
					r.Merge(l)
					delete(live, k)
				}
				if err := fn(r); err != nil {
					return err
				}
			}
		}
	}
	for _, r := range live {
		if err := fn(*r); err != nil {
			return err
		}
	}
	return nil
}

// liveHealth reads the live health hours of [from, to).
func (s *RedisStore) liveHealth(ctx context.Context, from, to time.Time) (map[HealthKey]*HealthRow, error) {
	hs, err := s.rdb.ZRangeByScore(ctx, s.key(KeyHealthHours), &redis.ZRangeBy{
		Min: strconv.FormatInt(from.UnixMilli(), 10), Max: "(" + strconv.FormatInt(to.UnixMilli(), 10)}).Result()
	if err != nil {
		return nil, fmt.Errorf("read live health hours: %w", err)
	}
	out := map[HealthKey]*HealthRow{}
	for _, hn := range hs {
		h, err := s.rdb.HGetAll(ctx, s.key(KeyHealthHour+hn)).Result()
		if err != nil {
			return nil, fmt.Errorf("read health hour %s: %w", hn, err)
		}
		hour, err := time.Parse(hourFmt, hn)
		if err != nil {
			continue
		}
		if err := healthFromHash(h, hour, out); err != nil {
			return nil, fmt.Errorf("health hour %s: %w", hn, err)
		}
	}
	return out, nil
}

// healthFromHash adds an hour's health hash to rows.
func healthFromHash(h map[string]string, hour time.Time, rows map[HealthKey]*HealthRow) error {
	for f, v := range h {
		parts := strings.Split(f, "|")
		if len(parts) != 4 {
			continue
		}
		k := HealthKey{Server: parts[0], Check: parts[1], Metric: parts[2], Hour: hour}
		r := rows[k]
		if r == nil {
			r = &HealthRow{Server: k.Server, Check: k.Check, Metric: k.Metric, Start: hour}
			rows[k] = r
		}
		var err error
		switch parts[3] {
		case "c":
			r.Checks, err = strconv.ParseInt(v, 10, 64)
		case "f":
			r.Failed, err = strconv.ParseInt(v, 10, 64)
		case "n":
			r.N, err = strconv.ParseInt(v, 10, 64)
		case "s":
			r.Sum, err = strconv.ParseFloat(v, 64)
		case "lo":
			r.Min, err = strconv.ParseFloat(v, 64)
		case "hi":
			r.Max, err = strconv.ParseFloat(v, 64)
		}
		if err != nil {
			return fmt.Errorf("field %q: %w", f, err)
		}
	}
	return nil
}
