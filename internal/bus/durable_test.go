package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

// startPair starts a master and a replica of it, and waits for the link.
func startPair(t testing.TB) (master, replica *bustest.Server) {
	t.Helper()
	master = bustest.StartRedis(t)
	return master, bustest.StartReplica(t, master)
}

// TestMinReplicas: auto waits for a replica once the master reports one,
// and keeps waiting after it is gone; a fixed number is kept; none never
// waits; the embedded Redis has none.
func TestMinReplicas(t *testing.T) {
	ctx := context.Background()
	master, replica := startPair(t)
	single := bustest.StartRedis(t)
	tests := []struct {
		name string
		url  string
		min  int
		want int
	}{
		{"auto with a replica", master.URL(), AutoReplicas, 1},
		{"auto alone", single.URL(), AutoReplicas, 0},
		{"none", master.URL(), NoReplicas, 0},
		{"two", master.URL(), 2, 2},
		{"embedded", "", AutoReplicas, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := openBus(t, tt.url, Options{MinReplicas: tt.min})
			if got, err := b.MinReplicas(ctx); err != nil || got != tt.want {
				t.Errorf("MinReplicas = %d, %v; want %d", got, err, tt.want)
			}
		})
	}

	// A replica seen is waited for even when it is gone: the writes of a
	// master that lost its replica are the ones a failover throws away.
	b := openBus(t, master.URL(), Options{Prefix: "t-wait:", WaitTimeout: 200 * time.Millisecond})
	if _, err := b.Publish(ctx, entries(t, "a", 1, 10)); err != nil {
		t.Fatalf("Publish with a replica: %v", err)
	}
	if err := replica.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = replica.Signal(syscall.SIGCONT) }()
	_, err := b.Publish(ctx, entries(t, "a", 11, 20))
	if !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("Publish with the replica frozen: %v, want ErrNotReplicated", err)
	}
	// Sent again: the master has them (nothing added), but the WAIT still
	// covers them, so the answer is the same until the replica is back.
	res, err := b.Publish(ctx, entries(t, "a", 11, 20))
	if !errors.Is(err, ErrNotReplicated) || res.Added != 0 || res.Skipped != 10 {
		t.Fatalf("Publish again = %+v, %v; want 10 skipped and ErrNotReplicated", res, err)
	}
	_ = replica.Signal(syscall.SIGCONT)
	if res, err := b.Publish(ctx, entries(t, "a", 11, 20)); err != nil || res.Skipped != 10 {
		t.Fatalf("Publish after the replica thawed = %+v, %v", res, err)
	}
}

// TestRunDurable: a script run through RunDurable waits for the replica.
func TestRunDurable(t *testing.T) {
	master, _ := startPair(t)
	b := openBus(t, master.URL(), Options{Prefix: "t-rd:"})
	v, err := b.RunDurable(context.Background(), publishScript, []string{b.Key(KeySamples), b.lastSeqKey("p", "a")}, "1000", "60", "1", `{"x":1}`)
	if err != nil || v != int64(1) {
		t.Fatalf("RunDurable = %v, %v", v, err)
	}
}

// TestNoClientSetinfo: connections send no CLIENT SETINFO, so Redis 7.0's
// error stats stay empty.
func TestNoClientSetinfo(t *testing.T) {
	srv := bustest.StartRedis(t)
	b := openBus(t, srv.URL(), Options{})
	for range 3 {
		if err := b.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if stats := bustest.Info(srv, "errorstats"); strings.Contains(stats, "errorstat_ERR") {
		t.Errorf("INFO errorstats: %s\n%s", stats, bustest.Info(srv, "commandstats"))
	}
}

// BenchmarkPublishReplicas is BenchmarkPublish against a master with a
// replica, with min_replicas 0 and 1: the WAIT is one per batch.
func BenchmarkPublishReplicas(b *testing.B) {
	master, _ := startPair(b)
	for _, min := range []int{NoReplicas, 1} {
		name := fmt.Sprintf("min_replicas=%d", max(min, 0))
		b.Run(name, func(b *testing.B) {
			// A fresh prefix per run: seqs start at 1 again.
			prefix := fmt.Sprintf("bench-%s-%d:", name, time.Now().UnixNano())
			bus, err := Open(context.Background(), Options{URL: master.URL(), Prefix: prefix, MinReplicas: min})
			if err != nil {
				b.Fatal(err)
			}
			defer bus.Close()
			benchPublish(b, bus)
		})
	}
}
