package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
)

// storeKind is a Store to run the shared store tests against: memory,
// miniredis and, when installed, a private redis-server.
type storeKind struct {
	name string
	addr string // "" for MemStore
}

func storeKinds(t *testing.T) []storeKind {
	t.Helper()
	out := []storeKind{{name: "memory"}, {name: "miniredis", addr: miniredis.RunT(t).Addr()}}
	if bustest.Available() {
		out = append(out, storeKind{name: "redis-server", addr: bustest.StartRedis(t).Addr()})
	} else {
		t.Log("redis-server not on PATH: testing MemStore and miniredis only")
	}
	return out
}

// storeRig is one fresh store of a kind.
type storeRig struct {
	kind   storeKind
	prefix string
	pol    config.IncidentPolicy
	s      Store
}

func (k storeKind) rig(t *testing.T, pol config.IncidentPolicy) *storeRig {
	t.Helper()
	r := &storeRig{kind: k, prefix: "t:" + t.Name() + ":", pol: pol}
	if k.addr == "" {
		r.s = NewMemStore(pol)
	} else {
		r.s = newStore(t, k.addr, r.prefix, pol)
	}
	return r
}

// handle is another watchdog's handle on the same store: for Redis, its own
// connection.
func (r *storeRig) handle(t *testing.T) Store {
	t.Helper()
	if r.kind.addr == "" {
		return r.s
	}
	return newStore(t, r.kind.addr, r.prefix, r.pol)
}

// events returns the store's first n events (all of them for MemStore).
func (r *storeRig) events(t *testing.T, n int) []Event {
	t.Helper()
	if m, ok := r.s.(*MemStore); ok {
		return m.Events()
	}
	return readEvents(t, r.s.(*RedisStore), "0", n)
}

// readEvents reads n events from the stream after from, then stops the
// reader and waits for its channel to close.
func readEvents(t *testing.T, s *RedisStore, from string, n int) []Event {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ch := s.Events(ctx, from)
	var out []Event
	timeout := time.After(5 * time.Second)
	for len(out) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				cancel()
				t.Fatalf("events closed after %d of %d", len(out), n)
			}
			out = append(out, ev)
		case <-timeout:
			cancel()
			t.Fatalf("%d of %d events after 5s: %v", len(out), n, eventKinds(out))
		}
	}
	cancel()
	drained := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return out
			}
		case <-drained:
			t.Fatal("events channel not closed 5s after its context ended")
		}
	}
}

func eventKinds(evs []Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind + " " + ev.Incident.ID
	}
	return out
}

// sameRecord compares incidents as stored (their JSON).
func sameRecord(t *testing.T, what string, got, want Incident) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func ids(incs []Incident) []string {
	out := make([]string, len(incs))
	for i, inc := range incs {
		out[i] = inc.ID
	}
	return out
}

func TestStoreLifecycle(t *testing.T) {
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			r := k.rig(t, policy())
			ctx := t.Context()
			p := problem(vocab.CauseRoom, hall1, []string{hall1}, dropout(hall1, 2, t0))
			inc, created, err := r.s.Open(ctx, p, t0)
			if err != nil || !created || inc.ID != "INC-000001" || inc.Version != 1 || inc.State != StateOpen || inc.Class != vocab.ClassPartial || inc.Key != "room:yz-hall-1" {
				t.Fatalf("open: %v created %v %+v", err, created, inc)
			}
			got, err := r.s.Get(ctx, inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			sameRecord(t, "stored", got, inc)
			again, created, err := r.s.Open(ctx, p, t0.Add(time.Second))
			if err != nil || created || again.ID != inc.ID || again.Version != 1 {
				t.Fatalf("open again: %v created %v %s v%d", err, created, again.ID, again.Version)
			}
			worse := problem(vocab.CauseRoom, hall1, []string{hall1}, dropout(hall1, 5, t0))
			inc, err = r.s.Change(ctx, inc.ID, EventUpdated, func(i Incident) (Incident, error) {
				out, _ := Observe(i, worse, t0.Add(2*time.Second), r.pol)
				return out, nil
			})
			if err != nil || inc.Version != 2 || inc.Phenomenon.ParticipantsDown != 5 {
				t.Fatalf("update: %v v%d %+v", err, inc.Version, inc.Phenomenon)
			}
			for _, a := range []Action{
				{Kind: ActAcknowledge, Actor: "张工", At: t0.Add(time.Minute)},
				{Kind: ActNote, Actor: "张工", At: t0.Add(2 * time.Minute), Text: "bidders told to refresh"},
				{Kind: ActResolve, Actor: "张工", At: t0.Add(3 * time.Minute), Text: "gateway restarted"},
				{Kind: ActSignOff, Actor: "李主任", At: t0.Add(time.Hour)},
			} {
				if inc, err = r.s.Act(ctx, inc.ID, a); err != nil {
					t.Fatalf("%s: %v", a.Kind, err)
				}
			}
			if inc.State != StateSignedOff || inc.Version != 6 {
				t.Fatalf("after sign-off: %s v%d", inc.State, inc.Version)
			}
			if _, err := r.s.Act(ctx, inc.ID, Action{Kind: ActNote, Actor: "张工", At: t0.Add(2 * time.Hour), Text: "too late"}); !errors.Is(err, ErrFrozen) {
				t.Fatalf("note after sign-off: %v", err)
			}
			if got, err := r.s.Get(ctx, inc.ID); err != nil || got.Version != 6 || count(got.Timeline, "note") != 1 {
				t.Fatalf("after a refused note: %v v%d", err, got.Version)
			}
			if _, err := r.s.Get(ctx, "INC-999999"); !errors.Is(err, ErrNotFound) {
				t.Errorf("get missing: %v", err)
			}
			if _, err := r.s.Act(ctx, "INC-999999", Action{Kind: ActNote, Actor: "张工", At: t0, Text: "x"}); !errors.Is(err, ErrNotFound) {
				t.Errorf("act on missing: %v", err)
			}
			if act, err := r.s.Active(ctx); err != nil || len(act) != 0 {
				t.Errorf("active after sign-off: %v %v", ids(act), err)
			}
			inc2, created, err := r.s.Open(ctx, p, t0.Add(2*time.Hour))
			if err != nil || !created || inc2.ID != "INC-000002" {
				t.Fatalf("open after sign-off: %v created %v %s", err, created, inc2.ID)
			}

			want := []string{
				"opened INC-000001 open watchdog", "updated INC-000001 open watchdog",
				"acknowledged INC-000001 acknowledged 张工", "note INC-000001 acknowledged 张工",
				"resolved INC-000001 resolved 张工", "signed_off INC-000001 signed_off 李主任",
				"opened INC-000002 open watchdog",
			}
			var got2 []string
			for _, ev := range r.events(t, len(want)) {
				got2 = append(got2, fmt.Sprintf("%s %s %s %s", ev.Kind, ev.Incident.ID, ev.Incident.State, ev.Actor))
			}
			if !slices.Equal(got2, want) {
				t.Errorf("events\n got %q\nwant %q", got2, want)
			}
		})
	}
}

// TestStoreOpenIdempotent: opening is idempotent per cause key while the
// key's incident is active; once it is not, the key opens a new one.
func TestStoreOpenIdempotent(t *testing.T) {
	room := roomProblem(hall1, 420)
	server := serverProblem(hall1, hall2)
	act := func(a Action) func(t *testing.T, s Store, id string) {
		return func(t *testing.T, s Store, id string) {
			t.Helper()
			if _, err := s.Act(t.Context(), id, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	resolve := act(Action{Kind: ActResolve, Actor: "张工", At: t0.Add(time.Minute)})
	retarget := func(t *testing.T, s Store, id string) {
		t.Helper()
		if _, err := s.Change(t.Context(), id, EventCause, func(i Incident) (Incident, error) { return Retarget(i, server, t0.Add(time.Minute), policy()), nil }); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		then    []func(t *testing.T, s Store, id string)
		again   string // "room" or "server"
		wantNew bool
		active  int
	}{
		{"while open", nil, "room", false, 1},
		{"while acknowledged", []func(*testing.T, Store, string){act(Action{Kind: ActAcknowledge, Actor: "张工", At: t0.Add(time.Minute)})}, "room", false, 1},
		{"while mitigated", []func(*testing.T, Store, string){act(Action{Kind: ActMitigate, Actor: "张工", At: t0.Add(time.Minute)})}, "room", false, 1},
		{"after it was resolved", []func(*testing.T, Store, string){resolve}, "room", true, 1},
		{"after sign-off", []func(*testing.T, Store, string){resolve, act(Action{Kind: ActSignOff, Actor: "李主任", At: t0.Add(time.Hour)})}, "room", true, 1},
		{"after a relapse reopened it", []func(*testing.T, Store, string){resolve, func(t *testing.T, s Store, id string) {
			if _, err := s.Change(t.Context(), id, EventReopened, func(i Incident) (Incident, error) { return Reopen(i, room, t0.Add(2*time.Minute), policy()) }); err != nil {
				t.Fatal(err)
			}
		}}, "room", false, 1},
		{"after its cause was refined: the old key opens anew", []func(*testing.T, Store, string){retarget}, "room", true, 2},
		{"after its cause was refined: the new key is taken", []func(*testing.T, Store, string){retarget}, "server", false, 1},
		{"after it was merged into another", []func(*testing.T, Store, string){func(t *testing.T, s Store, id string) {
			ctx := t.Context()
			parent, _, err := s.Open(ctx, server, t0.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			child, err := s.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if parent, err = s.Change(ctx, parent.ID, EventMergedIn, func(p Incident) (Incident, error) {
				_, out, err := Merge(child, p, t0.Add(time.Minute), "explained by the server")
				return out, err
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Change(ctx, id, EventMerged, func(c Incident) (Incident, error) {
				out, _, err := Merge(c, parent, t0.Add(time.Minute), "explained by the server")
				return out, err
			}); err != nil {
				t.Fatal(err)
			}
		}}, "room", true, 2},
	}
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := k.rig(t, policy())
					ctx := t.Context()
					first, created, err := r.s.Open(ctx, room, t0)
					if err != nil || !created {
						t.Fatalf("open: %v %v", err, created)
					}
					for _, f := range tt.then {
						f(t, r.s, first.ID)
					}
					before, err := r.s.List(ctx, Filter{})
					if err != nil {
						t.Fatal(err)
					}
					p := room
					if tt.again == "server" {
						p = server
					}
					got, created, err := r.s.Open(ctx, p, t0.Add(3*time.Minute))
					if err != nil {
						t.Fatal(err)
					}
					if created != tt.wantNew {
						t.Errorf("created %v, want %v", created, tt.wantNew)
					}
					wantID := first.ID
					if tt.wantNew {
						wantID = fmt.Sprintf("INC-%06d", len(before)+1)
					}
					if got.ID != wantID || !got.State.Active() || got.Key != p.Key {
						t.Errorf("open again: %s %s key %s, want %s", got.ID, got.State, got.Key, wantID)
					}
					act, err := r.s.Active(ctx)
					if err != nil || len(act) != tt.active {
						t.Errorf("active %q, %v; want %d", ids(act), err, tt.active)
					}
				})
			}
		})
	}
}

// TestStoreConcurrentOpen: many watchdogs, each with its own connection,
// open the same problem at once: one incident.
func TestStoreConcurrentOpen(t *testing.T) {
	const watchdogs = 16
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			r := k.rig(t, policy())
			handles := make([]Store, watchdogs)
			for i := range handles {
				handles[i] = r.handle(t)
			}
			type result struct {
				id      string
				created bool
				err     error
			}
			results := make([]result, watchdogs)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, s := range handles {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					inc, created, err := s.Open(context.Background(), roomProblem(hall1, 400+float64(i)), t0.Add(time.Duration(i)*time.Millisecond))
					results[i] = result{inc.ID, created, err}
				}()
			}
			close(start)
			waitGroup(t, &wg)
			created := 0
			for i, res := range results {
				if res.err != nil || res.id != "INC-000001" {
					t.Errorf("watchdog %d: %s, %v", i, res.id, res.err)
				}
				if res.created {
					created++
				}
			}
			if created != 1 {
				t.Errorf("%d watchdogs created it, want 1", created)
			}
			all, err := r.s.List(t.Context(), Filter{})
			if err != nil || len(all) != 1 {
				t.Errorf("incidents %q, %v", ids(all), err)
			}
			opened := 0
			for _, ev := range r.events(t, 1) {
				if ev.Kind == EventOpened {
					opened++
				}
			}
			if opened != 1 {
				t.Errorf("%d opened events", opened)
			}
		})
	}
}

// TestStoreConcurrentChange: concurrent changes of one incident from many
// watchdogs all land (a lost compare-and-set is retried).
func TestStoreConcurrentChange(t *testing.T) {
	const watchdogs = 8
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			r := k.rig(t, policy())
			inc, _, err := r.s.Open(t.Context(), roomProblem(hall1, 420), t0)
			if err != nil {
				t.Fatal(err)
			}
			errs := make([]error, watchdogs)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range watchdogs {
				s := r.handle(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = s.Act(context.Background(), inc.ID, Action{Kind: ActNote, Actor: fmt.Sprintf("值班员%d", i), At: t0.Add(time.Minute), Text: fmt.Sprintf("note %d", i)})
				}()
			}
			close(start)
			waitGroup(t, &wg)
			for i, err := range errs {
				if err != nil {
					t.Errorf("watchdog %d: %v", i, err)
				}
			}
			got, err := r.s.Get(t.Context(), inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != 1+watchdogs || count(got.Timeline, "note") != watchdogs {
				t.Errorf("version %d, %d notes; want %d, %d", got.Version, count(got.Timeline, "note"), 1+watchdogs, watchdogs)
			}
		})
	}
}

func waitGroup(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("goroutines still running after 10s")
	}
}

func TestStoreChange(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		setup func(t *testing.T, s Store, id string) string // returns the id to change
		fn    func(Incident) (Incident, error)
		err   error
	}{
		{"nothing to change", nil, func(i Incident) (Incident, error) { return i, ErrNoChange }, ErrNoChange},
		{"the change function fails", nil, func(i Incident) (Incident, error) {
			i.Result = "half done"
			return i, boom
		}, boom},
		{"no such incident", func(*testing.T, Store, string) string { return "INC-404404" }, func(i Incident) (Incident, error) {
			i.Result = "x"
			return i, nil
		}, ErrNotFound},
		{"a signed-off record is frozen", func(t *testing.T, s Store, id string) string {
			for _, a := range []Action{{Kind: ActResolve, Actor: "张工", At: t0.Add(time.Minute)}, {Kind: ActSignOff, Actor: "李主任", At: t0.Add(time.Hour)}} {
				if _, err := s.Act(t.Context(), id, a); err != nil {
					t.Fatal(err)
				}
			}
			return id
		}, func(i Incident) (Incident, error) {
			i.Result = "rewritten"
			return i, nil
		}, ErrFrozen},
	}
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := k.rig(t, policy())
					ctx := t.Context()
					inc, _, err := r.s.Open(ctx, roomProblem(hall1, 420), t0)
					if err != nil {
						t.Fatal(err)
					}
					id := inc.ID
					if tt.setup != nil {
						id = tt.setup(t, r.s, inc.ID)
					}
					before, _ := r.s.Get(ctx, inc.ID)
					if _, err := r.s.Change(ctx, id, "note", tt.fn); !errors.Is(err, tt.err) {
						t.Fatalf("err %v, want %v", err, tt.err)
					}
					after, err := r.s.Get(ctx, inc.ID)
					if err != nil {
						t.Fatal(err)
					}
					sameRecord(t, "after a change that did not happen", after, before)
				})
			}
		})
	}
}

func TestStoreGetMany(t *testing.T) {
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			r := k.rig(t, policy())
			ctx := t.Context()
			for _, room := range []string{hall1, hall2, hall3} {
				if _, _, err := r.s.Open(ctx, roomProblem(room, 420), t0); err != nil {
					t.Fatal(err)
				}
			}
			for _, tt := range []struct {
				name string
				ids  []string
				want []string
			}{
				{"in the order asked, skipping missing ones", []string{"INC-000003", "INC-404404", "INC-000001"}, []string{"INC-000003", "INC-000001"}},
				{"none asked", nil, []string{}},
				{"none there", []string{"INC-404404"}, []string{}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					got, err := r.s.GetMany(ctx, tt.ids)
					if err != nil || !slices.Equal(ids(got), tt.want) {
						t.Errorf("got %q, %v; want %q", ids(got), err, tt.want)
					}
					for _, inc := range got {
						if inc.Version != 1 || inc.Key == "" {
							t.Errorf("%s: v%d key %q", inc.ID, inc.Version, inc.Key)
						}
					}
				})
			}
		})
	}
}

func TestStoreList(t *testing.T) {
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			r := k.rig(t, policy())
			ctx := t.Context()
			for i := range 5 {
				room := fmt.Sprintf("room-%d", i+1)
				at := t0.Add(time.Duration(i) * time.Hour)
				inc, _, err := r.s.Open(ctx, problem(vocab.CauseRoom, room, []string{room}, latency(room, 420, at)), at)
				if err != nil {
					t.Fatal(err)
				}
				if i < 2 {
					if _, err := r.s.Act(ctx, inc.ID, Action{Kind: ActResolve, Actor: "张工", At: at.Add(time.Minute)}); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, tt := range []struct {
				name string
				f    Filter
				want []string
			}{
				{"all, oldest first", Filter{}, []string{"INC-000001", "INC-000002", "INC-000003", "INC-000004", "INC-000005"}},
				{"a period: from inclusive, to exclusive", Filter{From: t0.Add(time.Hour), To: t0.Add(4 * time.Hour)}, []string{"INC-000002", "INC-000003", "INC-000004"}},
				{"from a moment after an opening", Filter{From: t0.Add(time.Hour + time.Millisecond)}, []string{"INC-000003", "INC-000004", "INC-000005"}},
				{"to an opening", Filter{To: t0.Add(time.Hour)}, []string{"INC-000001"}},
				{"resolved ones", Filter{States: []State{StateResolved}}, []string{"INC-000001", "INC-000002"}},
				{"open or resolved ones", Filter{States: []State{StateOpen, StateResolved}}, []string{"INC-000001", "INC-000002", "INC-000003", "INC-000004", "INC-000005"}},
				{"the newest two open ones", Filter{States: []State{StateOpen}, Limit: 2}, []string{"INC-000004", "INC-000005"}},
				{"the newest two", Filter{Limit: 2}, []string{"INC-000004", "INC-000005"}},
				{"a limit above the count", Filter{Limit: 10}, []string{"INC-000001", "INC-000002", "INC-000003", "INC-000004", "INC-000005"}},
				{"a period with none", Filter{From: t0.Add(10 * time.Hour)}, []string{}},
				{"a state with none", Filter{States: []State{StateSignedOff}}, []string{}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					got, err := r.s.List(ctx, tt.f)
					if err != nil || !slices.Equal(ids(got), tt.want) {
						t.Errorf("got %q, %v; want %q", ids(got), err, tt.want)
					}
				})
			}
		})
	}
}

// TestStoreActive: the active incidents, the nearest deadline first.
func TestStoreActive(t *testing.T) {
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			r := k.rig(t, policy())
			ctx := t.Context()
			open := func(p problemArgs) string {
				inc, _, err := r.s.Open(ctx, p.p, p.at)
				if err != nil {
					t.Fatal(err)
				}
				return inc.ID
			}
			minor := open(problemArgs{roomProblem(hall1, 420), t0})                       // deadline t0+1h
			partial := open(problemArgs{serverProblem(hall2), t0})                        // t0+2h
			later := open(problemArgs{roomProblem(hall3, 420), t0.Add(30 * time.Minute)}) // t0+1h30m
			check := func(step string, want ...string) {
				t.Helper()
				got, err := r.s.Active(ctx)
				if err != nil || !slices.Equal(ids(got), want) {
					t.Errorf("%s: active %q, %v; want %q", step, ids(got), err, want)
				}
			}
			check("opened", minor, later, partial)
			if _, err := r.s.Act(ctx, minor, Action{Kind: ActReclassify, Actor: "张工", At: t0.Add(time.Minute), Class: vocab.ClassMajor}); err != nil {
				t.Fatal(err)
			}
			check("reclassified", later, partial, minor)
			if _, err := r.s.Act(ctx, later, Action{Kind: ActResolve, Actor: "张工", At: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			check("resolved", partial, minor)
			if _, err := r.s.Act(ctx, partial, Action{Kind: ActMitigate, Actor: "张工", At: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			check("mitigated", partial, minor)
		})
	}
}

type problemArgs struct {
	p  correlate.Problem
	at time.Time
}

// TestStoreMergeAndRetarget: the watchdog's changes publish their own
// kinds, and the records read back as changed.
func TestStoreMergeAndRetarget(t *testing.T) {
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			r := k.rig(t, policy())
			ctx := t.Context()
			a, _, err := r.s.Open(ctx, roomProblem(hall1, 420), t0)
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := r.s.Open(ctx, roomProblem(hall2, 420), t0.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			now := t0.Add(time.Minute)
			if a, err = r.s.Change(ctx, a.ID, EventCause, func(i Incident) (Incident, error) {
				return Retarget(i, serverProblem(hall1, hall2), now, r.pol), nil
			}); err != nil {
				t.Fatal(err)
			}
			child, _ := r.s.Get(ctx, b.ID)
			parent, err := r.s.Change(ctx, a.ID, EventMergedIn, func(p Incident) (Incident, error) {
				_, out, err := Merge(child, p, now, "explained by server yz-media-1")
				return out, err
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.s.Change(ctx, b.ID, EventMerged, func(c Incident) (Incident, error) {
				out, _, err := Merge(c, parent, now, "explained by server yz-media-1")
				return out, err
			}); err != nil {
				t.Fatal(err)
			}
			gotA, _ := r.s.Get(ctx, a.ID)
			gotB, _ := r.s.Get(ctx, b.ID)
			if gotA.Key != "server:yz-media-1" || gotA.State != StateOpen || !slices.Equal(gotA.MergedFrom, []string{b.ID}) || gotA.Version != 3 {
				t.Errorf("parent %s %s from %q v%d", gotA.Key, gotA.State, gotA.MergedFrom, gotA.Version)
			}
			if gotB.State != StateMerged || gotB.MergedInto != a.ID || gotB.Version != 2 {
				t.Errorf("child %s into %q v%d", gotB.State, gotB.MergedInto, gotB.Version)
			}
			if act, _ := r.s.Active(ctx); !slices.Equal(ids(act), []string{a.ID}) {
				t.Errorf("active %q", ids(act))
			}
			evs := r.events(t, 5)
			want := []string{"opened INC-000001", "opened INC-000002", "cause INC-000001", "merged_in INC-000001", "merged INC-000002"}
			if got := eventKinds(evs); !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
			if len(evs) == 5 && (evs[4].Incident.MergedInto != a.ID || evs[4].Incident.State != StateMerged || !strings.HasPrefix(evs[4].Text, "merged into INC-000001")) {
				t.Errorf("merged event %+v", evs[4])
			}
		})
	}
}

// TestStoreReturnsCopies: what a store returns is the caller's to change;
// the stored record stays as it was.
func TestStoreReturnsCopies(t *testing.T) {
	scribble := func(inc *Incident, mark string) {
		inc.Place.Rooms[0] = mark
		inc.Timeline[0].Text = mark
		inc.Findings[0] = mark
	}
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			r := k.rig(t, policy())
			ctx := t.Context()
			inc, _, err := r.s.Open(ctx, roomProblem(hall1, 420), t0)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := r.s.Get(ctx, inc.ID)
			scribble(&inc, "scribbled on Open's")
			got, _ := r.s.Get(ctx, inc.ID)
			sameRecord(t, "after scribbling on what Open returned", got, want)

			changed, err := r.s.Act(ctx, inc.ID, Action{Kind: ActNote, Actor: "张工", At: t0.Add(time.Minute), Text: "x"})
			if err != nil {
				t.Fatal(err)
			}
			want, _ = r.s.Get(ctx, inc.ID)
			scribble(&changed, "scribbled on Act's")
			got, _ = r.s.Get(ctx, inc.ID)
			sameRecord(t, "after scribbling on what Act returned", got, want)

			listed, _ := r.s.List(ctx, Filter{})
			want, _ = r.s.Get(ctx, inc.ID)
			scribble(&listed[0], "scribbled on List's")
			got, _ = r.s.Get(ctx, inc.ID)
			sameRecord(t, "after scribbling on what List returned", got, want)
		})
	}
}
