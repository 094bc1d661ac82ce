package watchdog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Environment of a replica process started by TestReplicaKilled.
const (
	envReplica = "BIDWATCH_TEST_WATCHDOG_REPLICA"
	envRedis   = "BIDWATCH_TEST_WATCHDOG_REDIS"
	// envDispatch, when set, is the URL of a webhook receiver: the replica's
	// city gets a dispatch section sending every sub-center's alerts there.
	envDispatch = "BIDWATCH_TEST_WATCHDOG_DISPATCH"
)

// replicaMain runs a watchdog replica in this test binary when the parent
// test asks for one; it reports whether it did (and then the process has
// been told to stop).
func replicaMain() bool {
	id := os.Getenv(envReplica)
	if id == "" {
		return false
	}
	city, err := fastSettings(config.DemoCity(), "")
	if err == nil {
		city.Watchdog.Leader.TakeoverGrace = 3 * time.Second
		if url := os.Getenv(envDispatch); url != "" {
			err = withDispatch(city, url)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var b *bus.Bus
	if err == nil {
		b, err = bus.Open(ctx, bus.Options{URL: os.Getenv(envRedis)})
	}
	var w *Watchdog
	if err == nil {
		defer b.Close()
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		w, err = New(Options{Config: city, Bus: b, ID: id, NoHealth: true, Logger: logger})
	}
	if err == nil {
		err = w.Run(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "replica:", err)
		os.Exit(1)
	}
	return true
}

// replica is a watchdog replica in its own process.
type replica struct {
	id  string
	cmd *exec.Cmd
	out *syncBuffer
	// exited is closed once the process has exited.
	exited chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startReplica(t *testing.T, id, redisURL string, env ...string) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), envReplica+"="+id, envRedis+"="+redisURL), env...)
	exited := make(chan struct{})
	r := &replica{id: id, cmd: cmd, out: &syncBuffer{}, exited: exited}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("replica %s said:\n%s", id, r.out.String())
		}
	})
	return r
}

// aggregated sums the Samples counted in the aggregates stream.
func aggregated(t *testing.T, b *bus.Bus) int {
	t.Helper()
	msgs, err := b.Client().XRange(context.Background(), b.Key(KeyAggs), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		var aggs []detect.Agg
		if err := json.Unmarshal([]byte(m.Values[fieldAggs].(string)), &aggs); err != nil {
			t.Fatal(err)
		}
		for _, a := range aggs {
			n += a.Samples
		}
	}
	return n
}

func pending(t *testing.T, b *bus.Bus) int64 {
	t.Helper()
	p, err := b.Client().XPending(context.Background(), b.Key(bus.KeySamples), Group).Result()
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

// TestReplicaKilled runs two replicas as processes, SIGKILLs the leader
// mid-stream while a room is down, and checks that the other takes over:
// every Sample published is aggregated exactly once (none lost, none
// twice), nothing stays pending, and the room has one incident.
func TestReplicaKilled(t *testing.T) {
	url := redisURL(t)
	b := openBus(t, url)
	ctx := context.Background()
	reps := map[string]*replica{}
	for _, id := range []string{"replica-a", "replica-b"} {
		reps[id] = startReplica(t, id, url)
	}
	var leaderID string
	store := incident.NewRedisStore(b.Client(), b.Prefix(), config.DefaultWatchdog().Incidents)
	listed := func() []incident.Incident {
		all, err := store.List(ctx, incident.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		return all
	}
	waitFor(t, 10*time.Second, "two replicas and a leader", func() bool {
		n, err := b.Client().HLen(ctx, b.Key(KeyReplicas)).Result()
		leaderID, _ = b.Client().Get(ctx, b.Key(KeyLeader)).Result()
		return err == nil && n == 2 && leaderID != ""
	})

	f := newFeeder(t, b)
	var parts []part
	for _, room := range []string{"jd-hall-1", "gy-hall-1", "by-hall-1"} {
		for _, probe := range []struct{ id, loc string }{{"yz-probe", "yz"}, {"jd-probe", "jd"}} {
			for i := range 10 {
				parts = append(parts, part{probe.id, probe.loc, room, fmt.Sprintf("%s-%d", room, i)})
			}
		}
	}
	down := func(p part, s *sample.Sample) {
		if p.room == "jd-hall-1" {
			s.Connected, s.ConnectedMS, s.Error = false, 0, "dial: connection refused"
		}
	}
	win := 100 * time.Millisecond
	published := 0
	var killedAt time.Time
	start := time.Now()
	for i := 0; time.Since(start) < 6*time.Second; i++ {
		ws := time.Now().Truncate(win)
		var mod func(part, *sample.Sample)
		if i >= 5 {
			mod = down
		}
		published += f.window(ws, win, parts, mod)
		if killedAt.IsZero() && time.Since(start) > 2*time.Second {
			waitFor(t, 3*time.Second, "the incident before the kill", func() bool { return len(listed()) == 1 })
			if err := reps[leaderID].cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killedAt = time.Now()
			t.Logf("killed the leader %s; %d Samples published so far", leaderID, published)
		}
		time.Sleep(time.Until(ws.Add(win)))
	}
	var other string
	for id := range reps {
		if id != leaderID {
			other = id
		}
	}
	waitFor(t, 10*time.Second, "every Sample aggregated and nothing pending", func() bool {
		return pending(t, b) == 0 && aggregated(t, b) >= published
	})
	if got := aggregated(t, b); got != published {
		t.Fatalf("aggregated %d Samples, published %d", got, published)
	}
	leader, _ := b.Client().Get(ctx, b.Key(KeyLeader)).Result()
	if leader != other {
		t.Errorf("leader after the kill: %q, want %q", leader, other)
	}
	time.Sleep(2 * time.Second) // the new leader has rebuilt its view
	incs := listed()
	if len(incs) != 1 || incs[0].Subject != "jd-hall-1" {
		t.Fatalf("incidents:\n%s", describe(incs))
	}
	t.Logf("%d Samples, each aggregated once; %s leads; one incident %s", published, other, incs[0].ID)
}

// TestClaimDeadReplicasPending: entries delivered to a replica that died
// before acknowledging them are claimed after claim_idle and processed.
func TestClaimDeadReplicasPending(t *testing.T) {
	b := openBus(t, redisURL(t))
	ctx := context.Background()
	city := fastCity(t, "")
	if err := b.Client().XGroupCreateMkStream(ctx, b.Key(bus.KeySamples), Group, "$").Err(); err != nil {
		t.Fatal(err)
	}
	f := newFeeder(t, b)
	parts := []part{{"p", "yz", "by-hall-1", "a"}, {"p", "yz", "by-hall-1", "b"}}
	published := 0
	for i := range 10 {
		published += f.window(time.Now().Truncate(time.Second).Add(time.Duration(i)*time.Second), time.Second, parts, nil)
	}
	// A replica reads them all and dies.
	res, err := b.Client().XReadGroup(ctx, &redis.XReadGroupArgs{Group: Group, Consumer: "dead", Streams: []string{b.Key(bus.KeySamples), ">"}, Count: 100}).Result()
	if err != nil || len(res[0].Messages) != published {
		t.Fatalf("dead replica read %v, %v", res, err)
	}
	startWatchdog(t, Options{Config: city, Bus: b, NoHealth: true})
	waitFor(t, 5*time.Second, "the dead replica's entries claimed", func() bool { return pending(t, b) == 0 })
	if got := aggregated(t, b); got != published {
		t.Fatalf("aggregated %d, want %d", got, published)
	}
}

// TestFlushSkipsEntriesClaimedAway: a replica that stalled past claim_idle
// finds some of its batch claimed by another; it acknowledges and counts
// only the entries it still owns.
func TestFlushSkipsEntriesClaimedAway(t *testing.T) {
	b := openBus(t, redisURL(t))
	ctx := context.Background()
	city := fastCity(t, "")
	w, err := New(Options{Config: city, Bus: b, ID: "slow", NoHealth: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ensureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	f := newFeeder(t, b)
	var parts []part
	for i := range 10 {
		parts = append(parts, part{"p", "yz", "by-hall-1", fmt.Sprint(i)})
	}
	f.window(time.Now().Truncate(time.Second), time.Second, parts, nil)
	res, err := b.Client().XReadGroup(ctx, &redis.XReadGroupArgs{Group: Group, Consumer: "slow", Streams: []string{b.Key(bus.KeySamples), ">"}, Count: 100}).Result()
	if err != nil {
		t.Fatal(err)
	}
	msgs := res[0].Messages
	var taken []string
	for _, m := range msgs[:4] {
		taken = append(taken, m.ID)
	}
	if err := b.Client().XClaim(ctx, &redis.XClaimArgs{Stream: b.Key(bus.KeySamples), Group: Group, Consumer: "other", MinIdle: 0, Messages: taken}).Err(); err != nil {
		t.Fatal(err)
	}
	// It stalled: the batch was read longer than half claim_idle ago.
	w.handle(ctx, msgs, time.Now().Add(-city.Watchdog.Consumer.ClaimIdle), false)
	if got := aggregated(t, b); got != 6 {
		t.Fatalf("aggregated %d, want the 6 still owned", got)
	}
	p, err := b.Client().XPendingExt(ctx, &redis.XPendingExtArgs{Stream: b.Key(bus.KeySamples), Group: Group, Start: "-", End: "+", Count: 100}).Result()
	if err != nil || len(p) != 4 || p[0].Consumer != "other" {
		t.Fatalf("pending %+v, %v", p, err)
	}
}
