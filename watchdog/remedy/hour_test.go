package remedy

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

// Twenty triggers spread over an hour, every three minutes, with a limit
// of three an hour: three runs, then the next only an hour after the
// first — where a token bucket refilled at three an hour would let five
// through.
func TestHourSlotSliding(t *testing.T) {
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	s := NewStates(rdb, prefix)
	ctx := context.Background()
	start := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var ran []int
	for i := range 20 {
		now := start.Add(time.Duration(i) * 3 * time.Minute)
		ok, next, err := s.TakeHourSlot(ctx, "restart-gateway", now, 3, fmt.Sprint("attempt-", i))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			ran = append(ran, i*3)
		} else if i == 3 && !next.Equal(start.Add(time.Hour)) {
			t.Errorf("refused at +9m: next slot at %s, want %s", next, start.Add(time.Hour))
		}
	}
	if fmt.Sprint(ran) != "[0 3 6]" {
		t.Errorf("runs at minutes %v, want [0 3 6]", ran)
	}
	// An hour after the first, a slot frees.
	ok, _, err := s.TakeHourSlot(ctx, "restart-gateway", start.Add(time.Hour+time.Millisecond), 3, "later")
	if err != nil || !ok {
		t.Errorf("an hour after the first run: allowed %v, err %v", ok, err)
	}
}
