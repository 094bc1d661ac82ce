package incident

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/bidwatch/bidwatch/internal/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newStore(t *testing.T, addr, prefix string, pol config.IncidentPolicy) *RedisStore {
	t.Helper()
	return NewRedisStore(client(t, addr), prefix, pol)
}

// redisKinds are the Redis store kinds: miniredis and redis-server.
func redisKinds(t *testing.T) []storeKind {
	t.Helper()
	return slices.DeleteFunc(storeKinds(t), func(k storeKind) bool { return k.addr == "" })
}

// TestRedisStoreChangeRetries: a change that lost the compare-and-set to
// another watchdog's is retried on the record read again, so neither is
// lost.
func TestRedisStoreChangeRetries(t *testing.T) {
	for _, k := range redisKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			r := k.rig(t, policy())
			ctx := t.Context()
			other := r.handle(t)
			inc, _, err := r.s.Open(ctx, roomProblem(hall1, 420), t0)
			if err != nil {
				t.Fatal(err)
			}
			calls := 0
			got, err := r.s.Change(ctx, inc.ID, EventNote, func(i Incident) (Incident, error) {
				calls++
				if calls == 1 {
					// Another watchdog writes between this read and its write.
					if _, err := other.Act(ctx, inc.ID, Action{Kind: ActNote, Actor: "李工", At: t0.Add(time.Minute), Text: "theirs"}); err != nil {
						return i, err
					}
				}
				return Apply(i, Action{Kind: ActNote, Actor: "张工", At: t0.Add(2 * time.Minute), Text: "mine"}, policy())
			})
			if err != nil {
				t.Fatal(err)
			}
			if calls != 2 || got.Version != 3 || count(got.Timeline, "note") != 2 {
				t.Errorf("calls %d version %d notes %d; want 2, 3, 2", calls, got.Version, count(got.Timeline, "note"))
			}
			stored, _ := r.s.Get(ctx, inc.ID)
			sameRecord(t, "stored", stored, got)
		})
	}
}

// TestRedisStoreChangeGivesUp: a change that keeps losing gives up with
// ErrConflict rather than retrying forever.
func TestRedisStoreChangeGivesUp(t *testing.T) {
	for _, k := range redisKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			r := k.rig(t, policy())
			ctx := t.Context()
			other := r.handle(t)
			inc, _, err := r.s.Open(ctx, roomProblem(hall1, 420), t0)
			if err != nil {
				t.Fatal(err)
			}
			calls := 0
			_, err = r.s.Change(ctx, inc.ID, EventNote, func(i Incident) (Incident, error) {
				calls++
				if _, err := other.Act(ctx, inc.ID, Action{Kind: ActNote, Actor: "李工", At: t0.Add(time.Minute), Text: "again"}); err != nil {
					return i, err
				}
				return Apply(i, Action{Kind: ActNote, Actor: "张工", At: t0.Add(2 * time.Minute), Text: "mine"}, policy())
			})
			if !errors.Is(err, ErrConflict) || calls != maxRetries {
				t.Fatalf("err %v after %d calls; want ErrConflict after %d", err, calls, maxRetries)
			}
			stored, _ := r.s.Get(ctx, inc.ID)
			if stored.Version != 1+maxRetries || count(stored.Timeline, "note") != maxRetries {
				t.Errorf("version %d, %d notes", stored.Version, count(stored.Timeline, "note"))
			}
		})
	}
}

// TestRedisStoreEvents: "$" streams only what is published after Events
// returns, "0" everything kept; each event has its stream id; the channel
// closes when the context ends.
func TestRedisStoreEvents(t *testing.T) {
	for _, k := range redisKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			r := k.rig(t, policy())
			s := r.s.(*RedisStore)
			ctx := t.Context()
			a, _, err := s.Open(ctx, roomProblem(hall1, 420), t0)
			if err != nil {
				t.Fatal(err)
			}

			live, cancel := context.WithCancel(ctx)
			ch := s.Events(live, "$")
			if _, err := s.Act(ctx, a.ID, Action{Kind: ActAcknowledge, Actor: "张工", At: t0.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Open(ctx, roomProblem(hall2, 420), t0.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
			var got []Event
			timeout := time.After(5 * time.Second)
			for len(got) < 2 {
				select {
				case ev := <-ch:
					got = append(got, ev)
				case <-timeout:
					cancel()
					t.Fatalf("events after 5s: %q", eventKinds(got))
				}
			}
			if want := []string{"acknowledged INC-000001", "opened INC-000002"}; !slices.Equal(eventKinds(got), want) {
				t.Errorf("from now: %q, want %q", eventKinds(got), want)
			}
			if got[0].StreamID == "" || got[0].StreamID == got[1].StreamID || got[0].Actor != "张工" || !got[0].At.Equal(t0.Add(time.Minute)) {
				t.Errorf("events %+v", got)
			}
			cancel()
			select {
			case _, ok := <-ch:
				for ok {
					select {
					case _, ok = <-ch:
					case <-time.After(5 * time.Second):
						t.Fatal("events channel not closed after cancel")
					}
				}
			case <-time.After(5 * time.Second):
				t.Fatal("events channel not closed after cancel")
			}

			all := readEvents(t, s, "0", 3)
			if want := []string{"opened INC-000001", "acknowledged INC-000001", "opened INC-000002"}; !slices.Equal(eventKinds(all), want) {
				t.Errorf("from the start: %q, want %q", eventKinds(all), want)
			}
			after := readEvents(t, s, all[0].StreamID, 2)
			if want := []string{"acknowledged INC-000001", "opened INC-000002"}; !slices.Equal(eventKinds(after), want) {
				t.Errorf("after the first: %q, want %q", eventKinds(after), want)
			}
		})
	}
}

// TestRedisStorePrefixes: two stores under different prefixes on one
// Redis do not see each other.
func TestRedisStorePrefixes(t *testing.T) {
	for _, k := range redisKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			ctx := t.Context()
			a := newStore(t, k.addr, "city-a:", policy())
			b := newStore(t, k.addr, "city-b:", policy())
			ia, _, err := a.Open(ctx, roomProblem(hall1, 420), t0)
			if err != nil {
				t.Fatal(err)
			}
			ib, created, err := b.Open(ctx, roomProblem(hall1, 420), t0)
			if err != nil || !created || ia.ID != "INC-000001" || ib.ID != "INC-000001" {
				t.Fatalf("a %s, b %s created %v: %v", ia.ID, ib.ID, created, err)
			}
			if _, err := a.Act(ctx, ia.ID, Action{Kind: ActResolve, Actor: "张工", At: t0.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if act, _ := b.Active(ctx); !slices.Equal(ids(act), []string{"INC-000001"}) {
				t.Errorf("b active %q", ids(act))
			}
			if act, _ := a.Active(ctx); len(act) != 0 {
				t.Errorf("a active %q", ids(act))
			}
			if s := a.Policy(); s.ReopenWithin != policy().ReopenWithin {
				t.Errorf("policy %+v", s)
			}
		})
	}
}
