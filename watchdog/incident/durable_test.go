package incident

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

// TestRedisStoreDurable: with a replica, an incident and a timeline entry
// count as saved only once the replica confirmed them; while it does not, the
// store says so (bus.ErrNotReplicated), and the repeat of an open that did
// reach the master is still the open that created the incident.
func TestRedisStoreDurable(t *testing.T) {
	if !bustest.Available() {
		t.Skip("needs redis-server")
	}
	master := bustest.StartRedis(t)
	replica := bustest.StartReplica(t, master)
	b, err := bus.Open(context.Background(), bus.Options{URL: master.URL(), Prefix: "t-dur:", WaitTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := NewRedisStore(b.Client(), b.Prefix(), policy()).WithDurable(b)
	ctx := context.Background()

	inc, created, err := s.Open(ctx, roomProblem(hall1, 420), t0)
	if err != nil || !created {
		t.Fatalf("Open = %v, %v", created, err)
	}
	if got := bustest.Info(replica, "keyspace"); !strings.Contains(got, "keys=") {
		t.Errorf("the replica has no keys after a confirmed open: %q", got)
	}

	if err := replica.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	_, err = s.Act(ctx, inc.ID, Action{Kind: ActNote, Actor: "张工", At: t0.Add(time.Minute), Text: "frozen replica"})
	if !errors.Is(err, bus.ErrNotReplicated) {
		t.Errorf("Act with the replica frozen: %v, want ErrNotReplicated", err)
	}
	_ = replica.Signal(syscall.SIGCONT)
	got, err := s.Get(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if count(got.Timeline, "note") != 1 {
		t.Errorf("%d notes: the commit reached the master once, its repeats added nothing", count(got.Timeline, "note"))
	}

	// The same open, repeated with its nonce (as RunScript does when the
	// WAIT was not confirmed), reports the incident as created by it.
	keys := []string{s.key(keyFP + "repeat"), s.key(keySeq), s.key(keyAll), s.key(keyActive), s.key(KeyEvents)}
	args := []any{`{"id":"@@ID@@"}`, 1, 2, idPrefix, s.key(keyIncident), `{}`, 1000, s.key(KeyEvents), "nonce-1"}
	var ids []string
	for range 2 {
		v, err := openScript.Run(ctx, b.Client(), keys, args...).Slice()
		if err != nil || len(v) != 2 || v[0] != int64(1) {
			t.Fatalf("open = %v, %v; want {1, id} both times", v, err)
		}
		ids = append(ids, v[1].(string))
	}
	if ids[0] != ids[1] {
		t.Errorf("ids %v: the repeat opened a second incident", ids)
	}
	args[8] = "nonce-2"
	if v, err := openScript.Run(ctx, b.Client(), keys, args...).Slice(); err != nil || v[0] != int64(0) {
		t.Errorf("another open = %v, %v; want {0, id}", v, err)
	}
}
