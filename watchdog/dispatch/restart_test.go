package dispatch

import (
	"context"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// TestRestartSendsOnce stops the dispatcher and starts a new one on the
// same Redis, as a new leader would, three times: the events that arrived
// while none ran are dispatched by the new one (the cursor); a new one
// that reads every event again (its predecessor died before saving the
// cursor) queues nothing twice; and a delivery being retried when its
// dispatcher stopped is delivered by the next, once. No message id arrives
// twice.
func TestRestartSendsOnce(t *testing.T) {
	ctx := context.Background()
	recv := newReceiver(t)
	r := newRig(t, city(t, map[string]string{"jd": recv.srv.URL}), Options{})
	r.start()
	open := func(room string) string {
		return r.open(problem(vocab.CauseRoom, room, []string{"jd"}, []string{room}), time.Now()).ID
	}
	told := func(ids ...string) func() bool {
		return func() bool {
			for _, id := range ids {
				if len(recv.naming(id)) == 0 {
					return false
				}
			}
			return true
		}
	}
	once := func() {
		t.Helper()
		for id, n := range recv.timesSeen() {
			if n != 1 {
				t.Errorf("message %s received %d times", id, n)
			}
		}
	}

	a := open("jd-hall-1")
	waitFor(t, 5*time.Second, "A told", told(a))
	// B opens and the dispatcher stops at once, before B's group_wait has
	// passed (or just after: either way B must go out once); C opens while
	// no dispatcher runs.
	b := open("jd-hall-2")
	r.stop()
	c := open("jd-coord-1")
	before := recv.count()
	r.restart(Options{})
	waitFor(t, 5*time.Second, "B and C told by the new dispatcher", told(b, c))
	time.Sleep(700 * time.Millisecond)
	once()
	for _, id := range []string{a, b, c} {
		if n := len(recv.naming(id)); n != 1 {
			t.Errorf("%s named in %d messages, want 1", id, n)
		}
	}
	t.Logf("before the restart %d message(s), after %d", before, recv.count())

	// A dispatcher that died before saving its cursor: the next reads every
	// event again.
	r.stop()
	if err := r.rdb.Set(ctx, "bidwatch:dispatch:cursor", "0-0", 0).Err(); err != nil {
		t.Fatal(err)
	}
	n := recv.count()
	r.restart(Options{})
	waitFor(t, 5*time.Second, "every event read again", func() bool {
		cur, err := r.rdb.Get(ctx, "bidwatch:dispatch:cursor").Result()
		return err == nil && cur != "0-0"
	})
	time.Sleep(700 * time.Millisecond)
	if got := recv.count(); got != n {
		t.Errorf("reading the events again sent %d more messages:%s", got-n, describeMsgs(recv.messages()[n:]))
	}

	// Stopped while a delivery is being retried.
	recv.setDown(true)
	d := open("jd-hall-3")
	waitFor(t, 5*time.Second, "D failing", func() bool { return len(entries(r.timeline(d), "failed, retrying")) > 0 })
	r.stop()
	recv.setDown(false)
	r.restart(Options{})
	waitFor(t, 5*time.Second, "D told by the next dispatcher", told(d))
	time.Sleep(700 * time.Millisecond)
	once()
	if n := len(recv.naming(d)); n != 1 {
		t.Errorf("D named in %d messages", n)
	}
	ds, err := r.d.Outbox().List(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, dl := range ds {
		if dl.Status != StatusSent {
			t.Errorf("delivery %s: %s", dl.Key, dl.Status)
		}
	}
}
