package remedy

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// keyHour is a runbook's runs in the last hour: a sorted set scored by
// start time (unix ms).
const keyHour = "remedy:hour:"

// hourSlot takes a run slot in a sliding hour, atomically: it drops runs
// older than an hour, refuses when max remain (answering when the oldest
// leaves the window), and otherwise adds this one.
var hourSlot = redis.NewScript(`
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2])}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], 3600000)
return {1, 0}
`)

// TakeHourSlot counts a run of the runbook at now if fewer than max ran in
// the hour before; otherwise it refuses and says when the next slot frees.
// redis_rate's limit (a burst of max refilled at max an hour) lets up to
// 2·max−1 through in a sliding hour when runs are spread out; this is the
// exact bound: at most max in any hour.
func (s *States) TakeHourSlot(ctx context.Context, name string, now time.Time, max int, id string) (bool, time.Time, error) {
	res, err := hourSlot.Run(ctx, s.rdb, []string{s.key(keyHour + name)}, now.UnixMilli(), max, id).Int64Slice()
	if err != nil {
		return false, time.Time{}, fmt.Errorf("hourly limit of %s: %w", name, err)
	}
	if res[0] == 1 {
		return true, time.Time{}, nil
	}
	return false, time.UnixMilli(res[1]).Add(time.Hour), nil
}
