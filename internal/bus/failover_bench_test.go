package bus

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

// BenchmarkFailoverToAck measures a planned failover (SENTINEL FAILOVER) on
// a master, one replica and three sentinels, while a publisher sends a
// batch every 20 ms with min_replicas auto (1): the time from the
// sentinels' switch to the first batch the new master acknowledges (WAIT
// included: the old master must first replicate from it), and from the
// request. One op is one failover; run with -benchtime 3x.
func BenchmarkFailoverToAck(b *testing.B) {
	h := bustest.StartSentinel(b)
	bus, err := Open(context.Background(), Options{URL: h.URL() + "&dial_timeout=300ms&read_timeout=1s&write_timeout=1s", Prefix: "bench-fo:"})
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()

	var mu sync.Mutex
	var acks []time.Time
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		seq := uint64(0)
		for ctx.Err() == nil {
			batch := make([]Entry, 0, 10)
			for range 10 {
				e, _ := NewEntry(testSample("bench", seq+1))
				batch = append(batch, e)
				seq++
			}
			for ctx.Err() == nil {
				pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
				_, err := bus.Publish(pctx, batch)
				pcancel()
				if err == nil {
					mu.Lock()
					acks = append(acks, time.Now())
					mu.Unlock()
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	defer func() { cancel(); wg.Wait() }()

	firstAckAfter := func(t time.Time) (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range acks {
			if a.After(t) {
				return a, true
			}
		}
		return time.Time{}, false
	}
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: h.Sentinels[0].Addr(), DisableIdentity: true})
	defer sentinel.Close()
	var fromSwitch, fromAsk time.Duration
	b.ResetTimer()
	for b.Loop() {
		oldNode := h.Master()
		old := oldNode.Addr()
		asked := time.Now()
		if err := sentinel.Failover(context.Background(), bustest.MasterName).Err(); err != nil {
			b.Fatal(err)
		}
		var switched time.Time
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if a, err := sentinel.GetMasterAddrByName(context.Background(), bustest.MasterName).Result(); err == nil && a[0]+":"+a[1] != old {
				switched = time.Now()
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("no switch within 30 s")
			}
		}
		var ack time.Time
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if a, ok := firstAckAfter(switched); ok {
				ack = a
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("no acknowledged batch within 60 s of the switch")
			}
		}
		fromSwitch += ack.Sub(switched)
		fromAsk += ack.Sub(asked)
		h.WaitSwitched(oldNode) // settle: the old master replicates
	}
	b.ReportMetric(float64(fromSwitch.Milliseconds())/float64(b.N), "ms-switch-to-ack")
	b.ReportMetric(float64(fromAsk.Milliseconds())/float64(b.N), "ms-request-to-ack")
}
