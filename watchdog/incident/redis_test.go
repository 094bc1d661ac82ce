package incident

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backend is a Redis to run a store test against: miniredis and, when
// installed, a private redis-server.
type backend struct {
	name string
	addr string
}

func backends(t *testing.T) []backend {
	t.Helper()
	m := miniredis.RunT(t)
	out := []backend{{"miniredis", m.Addr()}}
	if bustest.Available() {
		out = append(out, backend{"redis-server", bustest.StartRedis(t).Addr()})
	}
	return out
}

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

func TestRedisStoreLifecycle(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t, be.addr, "t-life:", policy())
			events := s.Events(t.Context(), "$")

			p := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, dropout("yz-hall-1", 2, t0))
			inc, o, err := s.Observe(ctx, p, t0)
			if err != nil || o != Opened || inc.ID != "INC-000001" || inc.Version != 1 || inc.Class != config.ClassPartial {
				t.Fatalf("open: %v %s %+v", err, o, inc)
			}
			if _, o, err := s.Observe(ctx, p, t0.Add(time.Second)); err != nil || o != Unchanged {
				t.Fatalf("again: %v %s", err, o)
			}
			worse := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, dropout("yz-hall-1", 5, t0))
			if inc, o, err = s.Observe(ctx, worse, t0.Add(2*time.Second)); err != nil || o != Updated || inc.Version != 2 || inc.Phenomenon.ParticipantsDown != 5 {
				t.Fatalf("worse: %v %s %+v", err, o, inc)
			}
			for _, a := range []Action{
				{Kind: ActAcknowledge, Actor: "张工", At: t0.Add(time.Minute)},
				{Kind: ActNote, Actor: "张工", At: t0.Add(2 * time.Minute), Text: "bidders told to refresh"},
				{Kind: ActResolve, Actor: "张工", At: t0.Add(3 * time.Minute), Text: "gateway restarted"},
				{Kind: ActSignOff, Actor: "李主任", At: t0.Add(time.Hour)},
			} {
				if inc, err = s.Act(ctx, inc.ID, a); err != nil {
					t.Fatalf("%s: %v", a.Kind, err)
				}
			}
			if inc.State != StateSignedOff || inc.Version != 6 {
				t.Fatalf("after sign-off: %+v", inc)
			}
			_, err = s.Act(ctx, inc.ID, Action{Kind: ActNote, Actor: "张工", At: t0.Add(2 * time.Hour), Text: "too late"})
			if !errors.Is(err, ErrFrozen) {
				t.Fatalf("note after sign-off: %v", err)
			}
			if _, err := s.Get(ctx, "INC-999999"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get missing: %v", err)
			}
			if act, err := s.Active(ctx); err != nil || len(act) != 0 {
				t.Fatalf("active after sign-off: %v %v", act, err)
			}
			// The same problem after sign-off is a new incident.
			again := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, dropout("yz-hall-1", 1, t0.Add(2*time.Hour)))
			inc2, o, err := s.Observe(ctx, again, t0.Add(2*time.Hour))
			if err != nil || o != Opened || inc2.ID != "INC-000002" {
				t.Fatalf("after sign-off: %v %s %+v", err, o, inc2)
			}

			var kinds []string
			timeout := time.After(5 * time.Second)
			for len(kinds) < 7 {
				select {
				case ev := <-events:
					kinds = append(kinds, ev.Kind+" "+ev.Incident.ID)
				case <-timeout:
					t.Fatalf("events so far: %q", kinds)
				}
			}
			want := "opened INC-000001,updated INC-000001,acknowledged INC-000001,note INC-000001,resolved INC-000001,signed_off INC-000001,opened INC-000002"
			if got := strings.Join(kinds, ","); got != want {
				t.Errorf("events\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestRedisStoreOneIncidentPerProblem: many watchdogs, each its own
// connection, observe the same problem at once.
func TestRedisStoreOneIncidentPerProblem(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			const watchdogs = 8
			var wg sync.WaitGroup
			ids := make([]string, watchdogs)
			errs := make([]error, watchdogs)
			for i := range watchdogs {
				s := newStore(t, be.addr, "t-race:", policy())
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range 10 {
						p := problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, dropout("yz-hall-1", i*10+j, t0))
						inc, _, err := s.Observe(ctx, p, t0.Add(time.Duration(j)*time.Second))
						if err != nil {
							errs[i] = err
							return
						}
						ids[i] = inc.ID
					}
				}()
			}
			wg.Wait()
			for i := range watchdogs {
				if errs[i] != nil || ids[i] != "INC-000001" {
					t.Fatalf("watchdog %d: %s, %v", i, ids[i], errs[i])
				}
			}
			s := newStore(t, be.addr, "t-race:", policy())
			all, err := s.List(ctx, Filter{})
			if err != nil || len(all) != 1 {
				t.Fatalf("incidents: %d, %v", len(all), err)
			}
			if all[0].Phenomenon.ParticipantsDown != 79 {
				t.Errorf("worst participants down %d, want 79 (no update lost)", all[0].Phenomenon.ParticipantsDown)
			}
		})
	}
}

func TestRedisStoreReopen(t *testing.T) {
	m := miniredis.RunT(t)
	ctx := context.Background()
	pol := policy()
	pol.ReopenWithin = 10 * time.Minute
	s := newStore(t, m.Addr(), "t-reopen:", pol)
	p := problem(correlate.CauseNetwork, "jd", []string{"jd-hall-1"}, dropout("jd-hall-1", 1, t0))
	inc, _, err := s.Observe(ctx, p, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Act(ctx, inc.ID, Action{Kind: ActResolve, Actor: Actor, At: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if ttl := m.TTL("t-reopen:incident:fp:network:jd"); ttl != 10*time.Minute {
		t.Fatalf("fingerprint TTL after resolve: %s", ttl)
	}
	relapse := problem(correlate.CauseNetwork, "jd", []string{"jd-hall-1"}, dropout("jd-hall-1", 1, t0.Add(2*time.Minute)))
	got, o, err := s.Observe(ctx, relapse, t0.Add(2*time.Minute))
	if err != nil || o != Reopened || got.ID != inc.ID || got.Reopens != 1 || got.State != StateOpen {
		t.Fatalf("relapse: %v %s %+v", err, o, got)
	}
	if ttl := m.TTL("t-reopen:incident:fp:network:jd"); ttl != 0 {
		t.Fatalf("fingerprint TTL after reopen: %s", ttl)
	}
	if _, err := s.Act(ctx, inc.ID, Action{Kind: ActResolve, Actor: Actor, At: t0.Add(3 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	m.FastForward(11 * time.Minute)
	late := problem(correlate.CauseNetwork, "jd", []string{"jd-hall-1"}, dropout("jd-hall-1", 1, t0.Add(15*time.Minute)))
	got, o, err = s.Observe(ctx, late, t0.Add(15*time.Minute))
	if err != nil || o != Opened || got.ID == inc.ID {
		t.Fatalf("late relapse: %v %s %+v", err, o, got)
	}
}

func TestRedisStoreAdopt(t *testing.T) {
	m := miniredis.RunT(t)
	ctx := context.Background()
	s := newStore(t, m.Addr(), "t-adopt:", policy())
	room, _, err := s.Observe(ctx, problem(correlate.CauseRoom, "yz-hall-1", []string{"yz-hall-1"}, latency("yz-hall-1", 420, t0)), t0)
	if err != nil {
		t.Fatal(err)
	}
	sp := problem(correlate.CauseServer, "yz-media-1", []string{"yz-coord-1", "yz-hall-1", "yz-hall-2"}, latency("yz-hall-1", 420, t0), latency("yz-hall-2", 450, t0))
	sp.Servers, sp.Roles = []string{"yz-media-1"}, []string{"media"}
	srv, o, err := s.Observe(ctx, sp, t0.Add(time.Second))
	if err != nil || o != Updated || srv.ID != room.ID || srv.Cause != "server" {
		t.Fatalf("server problem: %v %s %+v", err, o, srv)
	}
	if all, _ := s.List(ctx, Filter{}); len(all) != 1 {
		t.Fatalf("%d incidents", len(all))
	}
	// Resolving releases both fingerprints for the reopen time.
	if _, err := s.Act(ctx, srv.ID, Action{Kind: ActResolve, Actor: Actor, At: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"t-adopt:incident:fp:room:yz-hall-1", "t-adopt:incident:fp:server:yz-media-1"} {
		if ttl := m.TTL(k); ttl <= 0 {
			t.Errorf("%s TTL %s", k, ttl)
		}
	}
}

func TestListAndExport(t *testing.T) {
	m := miniredis.RunT(t)
	ctx := context.Background()
	s := newStore(t, m.Addr(), "t-list:", policy())
	for i := range 5 {
		room := fmt.Sprintf("room-%d", i)
		inc, _, err := s.Observe(ctx, problem(correlate.CauseRoom, room, []string{room}, latency(room, 400+float64(i), t0.Add(time.Duration(i)*time.Hour))), t0.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if _, err := s.Act(ctx, inc.ID, Action{Kind: ActResolve, Actor: "张工", At: inc.OpenedAt.Add(90 * time.Second), Text: "fixed, \"quoted\", with commas"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := s.List(ctx, Filter{From: t0.Add(time.Hour), To: t0.Add(4 * time.Hour)})
	if err != nil || len(got) != 3 || got[0].ID != "INC-000002" || got[2].ID != "INC-000004" {
		t.Fatalf("period: %v %d", err, len(got))
	}
	if got, _ := s.List(ctx, Filter{States: []State{StateResolved}}); len(got) != 2 {
		t.Fatalf("resolved: %d", len(got))
	}
	if got, _ := s.List(ctx, Filter{Limit: 2}); len(got) != 2 || got[1].ID != "INC-000005" {
		t.Fatalf("limit: %+v", got)
	}

	all, _ := s.List(ctx, Filter{})
	var buf bytes.Buffer
	if err := WriteCSV(&buf, all, t0.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 6 {
		t.Fatalf("csv: %v, %d rows", err, len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	r := rows[2] // INC-000002: resolved after 90 s
	if r[col["id"]] != "INC-000002" || r[col["handling_time"]] != "1m30s" || r[col["result"]] != `fixed, "quoted", with commas` || r[col["rtt_p95_ms"]] != "401" {
		t.Errorf("csv row %q", r)
	}
	if !strings.Contains(r[col["timeline"]], "张工 resolved: fixed") {
		t.Errorf("timeline cell %q", r[col["timeline"]])
	}
	buf.Reset()
	if err := WriteJSON(&buf, all[:1], t0.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &recs); err != nil || recs[0]["handling_time_ms"] != float64(90000) || recs[0]["id"] != "INC-000001" {
		t.Errorf("json: %v %s", err, buf.String())
	}
}
