package drills

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/synthetic/hall/drill"
)

// wait bounds every wait in these tests.
const wait = 5 * time.Second

// testCity is a city of two sub-centers: jd hosts jd-hall-1 and
// jd-coord-1 on jd-web-1 and jd-media-1; yz hosts yz-hall-1 on yz-web-1.
func testCity() *config.Config {
	return &config.Config{
		SubCenters: []config.SubCenter{{ID: "jd", Name: "江都区分中心"}, {ID: "yz", Name: "扬州市分中心"}},
		Servers:    []config.Server{{ID: "jd-web-1"}, {ID: "jd-media-1"}, {ID: "yz-web-1"}},
		Rooms: []config.Room{
			{ID: "jd-hall-1", SubCenter: "jd", Servers: []string{"jd-web-1", "jd-media-1"}},
			{ID: "jd-coord-1", SubCenter: "jd", Servers: []string{"jd-web-1", "jd-media-1"}},
			{ID: "yz-hall-1", SubCenter: "yz", Servers: []string{"yz-web-1"}},
		},
	}
}

// testHall is the city's hall, with a network path from yz.
func testHall(t *testing.T) *hall.Hall {
	t.Helper()
	opts := hall.Options{NoMedia: true, Period: 50 * time.Millisecond}
	c := testCity()
	for _, s := range c.Servers {
		opts.Servers = append(opts.Servers, s.ID)
	}
	for _, r := range c.Rooms {
		opts.Rooms = append(opts.Rooms, hall.RoomSpec{ID: r.ID, Servers: r.Servers})
	}
	h, err := hall.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if _, err := h.AddPath("yz", "", "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	return h
}

// failing fails setting one room's fault.
type failing struct {
	drill.HallTarget
	room string
}

func (f failing) SetRoomFault(ctx context.Context, room string, fl hall.Fault) error {
	if room == f.room {
		return errors.New("admin API down")
	}
	return f.HallTarget.SetRoomFault(ctx, room, fl)
}

func redisClient(t *testing.T) redis.UniversalClient {
	t.Helper()
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// TestRecorderRecordsARun plays a script against a real hall on a fake
// clock and records it in a real Redis: the run, each drill's faults
// placed on the city, planned and actual times, what could not be
// injected, and the end.
func TestRecorderRecordsARun(t *testing.T) {
	rdb := redisClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := drill.Parse([]byte(`
name: 测试演练
start: 10s
drills:
  - name: "media server jd-media-1 saturated: CPU 97 %"
    hold: 60s
    pause: 30s
    faults:
      - {server: jd-media-1, cpu_pct: 97, rooms_fault: {latency_ms: 600}}
    expect:
      - {cause: server, subject: jd-media-1, rooms: [jd-hall-1, jd-coord-1], place: [jd]}
  - name: "path from yz congested"
    hold: 30s
    faults:
      - {path: yz, delay: 700ms}
  - name: "yz-hall-1 drops its bidders"
    after: 5s
    hold: 10s
    repeat: 5s
    faults:
      - {room: yz-hall-1, drop: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	h := testHall(t)
	store := NewStore(rdb, "t:")
	clock := clockwork.NewFakeClockAt(t0)
	rec := NewRecorder(store, testCity(), "hall test", nil)
	r, err := rec.Begin(ctx, s, "drill.yaml", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- drill.Run(ctx, failing{drill.HallTarget{Hall: h}, "yz-hall-1"}, s, drill.Options{Clock: clock, OnEvent: r.OnEvent})
	}()
	for _, step := range []time.Duration{10, 60, 30, 5, 5, 5, 15} {
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatalf("waiting for the drill: %v", err)
		}
		clock.Advance(step * time.Second)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("the drill did not finish")
	}
	r.End(clock.Now()) // finished already: changes nothing

	got, err := store.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != r.Run().ID || !strings.HasPrefix(got.ID, "20261203-090000-") {
		t.Errorf("id %q, recording %q", got.ID, r.Run().ID)
	}
	if got.Script != "测试演练" || got.File != "drill.yaml" || got.Host != "hall test" || got.State != RunFinished {
		t.Errorf("run %+v", got)
	}
	if !got.StartedAt.Equal(t0) || !got.EndedAt.Equal(at(130*time.Second)) || got.PlannedLength != 130*time.Second {
		t.Errorf("times: %s – %s, planned %s", got.StartedAt, got.EndedAt, got.PlannedLength)
	}
	if len(got.Drills) != 3 {
		t.Fatalf("drills %d", len(got.Drills))
	}
	d0, d1, d2 := got.Drills[0], got.Drills[1], got.Drills[2]
	if !d0.StartedAt.Equal(at(10*time.Second)) || !d0.StoppedAt.Equal(at(70*time.Second)) || d0.PlannedStart != 10*time.Second || d0.PlannedEnd != 70*time.Second {
		t.Errorf("drill 0 times %+v", d0)
	}
	f := d0.Faults[0]
	if f.Kind != "server" || f.Target != "jd-media-1" || !slices.Equal(f.Rooms, []string{"jd-hall-1", "jd-coord-1"}) ||
		!slices.Equal(f.SubCenters, []string{"jd"}) || f.Detail != "cpu_pct=97 latency_ms=600" {
		t.Errorf("drill 0 fault %+v", f)
	}
	if len(d0.Expect) != 1 || d0.Expect[0].Key() != "server:jd-media-1" {
		t.Errorf("drill 0 expect %+v", d0.Expect)
	}
	if f := d1.Faults[0]; f.Kind != "path" || !slices.Equal(f.Locations, []string{"yz"}) || f.Detail != "delay=700ms" {
		t.Errorf("drill 1 fault %+v", f)
	}
	if !d1.StartedAt.Equal(at(100*time.Second)) || !d1.Injected() {
		t.Errorf("drill 1 %+v", d1)
	}
	if f := d2.Faults[0]; f.Kind != "room" || !slices.Equal(f.SubCenters, []string{"yz"}) || !slices.Equal(f.Servers, []string{"yz-web-1"}) || f.Detail != "drop" {
		t.Errorf("drill 2 fault %+v", f)
	}
	if d2.Injected() || d2.Repeats != 1 || len(d2.InjectErrors) != 2 || d2.InjectErrors[0] != "room yz-hall-1: admin API down" {
		t.Errorf("drill 2: repeats %d, inject errors %q", d2.Repeats, d2.InjectErrors)
	}

	// Scored, the failed injection is said and not scored.
	sc := Score(got, nil, targets, DefaultGrace, at(3*time.Hour))
	if sc.Drills[2].Scored || sc.Drills[2].Problems[0].Kind != ProblemNotInjected {
		t.Errorf("drill 2 scored: %+v", sc.Drills[2])
	}
}

// TestRecorderInterrupted: a player stopped early leaves an interrupted
// run, its drills stopped early.
func TestRecorderInterrupted(t *testing.T) {
	rdb := redisClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := drill.Parse([]byte("drills:\n  - {name: web down, hold: 60s, faults: [{server: jd-web-1, down: true}]}\n  - {name: later, hold: 60s, faults: [{room: yz-hall-1, drop: true}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := testHall(t)
	store := NewStore(rdb, "t:")
	clock := clockwork.NewFakeClockAt(t0)
	r, err := NewRecorder(store, testCity(), "", nil).Begin(ctx, s, "x.yaml", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- drill.Run(rctx, drill.HallTarget{Hall: h}, s, drill.Options{Clock: clock, OnEvent: r.OnEvent})
	}()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(20 * time.Second)
	stop()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the drill did not stop")
	}
	r.End(clock.Now())
	got, err := store.Get(ctx, r.Run().ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != RunInterrupted || !got.EndedAt.Equal(at(20*time.Second)) {
		t.Errorf("run %s ended %s", got.State, got.EndedAt)
	}
	if !got.Drills[0].Interrupted || !got.Drills[0].StoppedAt.Equal(at(20*time.Second)) || got.Drills[1].Started() {
		t.Errorf("drills %+v", got.Drills)
	}
}

func TestStoreListAndBetween(t *testing.T) {
	rdb := redisClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	store := NewStore(rdb, "t:")
	for i, start := range []time.Duration{0, time.Hour, 48 * time.Hour} {
		r := Run{ID: string(rune('a' + i)), StartedAt: at(start), EndedAt: at(start + 10*time.Minute), State: RunFinished}
		if err := store.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// A running one whose player died: it counts until its planned end.
	if err := store.Put(ctx, Run{ID: "d", StartedAt: at(50 * time.Hour), PlannedLength: 20 * time.Minute, State: RunRunning}); err != nil {
		t.Fatal(err)
	}
	ids := func(rs []Run) string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return strings.Join(out, ",")
	}
	all, err := store.List(ctx, 0)
	if err != nil || ids(all) != "d,c,b,a" {
		t.Errorf("List = %s, %v", ids(all), err)
	}
	two, _ := store.List(ctx, 2)
	if ids(two) != "d,c" {
		t.Errorf("List(2) = %s", ids(two))
	}
	for _, tc := range []struct {
		from, to time.Duration
		want     string
	}{
		{5 * time.Minute, time.Hour, "a"},                    // overlaps a's end
		{10 * time.Minute, time.Hour, ""},                    // a ended as it began; b starts at its end
		{0, 24 * time.Hour, "a,b"},                           // the day
		{47 * time.Hour, 49 * time.Hour, "c"},                // c
		{50*time.Hour + 10*time.Minute, 51 * time.Hour, "d"}, // d's planned end
		{50*time.Hour + 30*time.Minute, 51 * time.Hour, ""},  // past it
	} {
		got, err := store.Between(ctx, at(tc.from), at(tc.to))
		if err != nil || ids(got) != tc.want {
			t.Errorf("Between(%s, %s) = %q, %v; want %q", tc.from, tc.to, ids(got), err, tc.want)
		}
	}
	if _, err := store.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(nope) = %v", err)
	}
	if _, err := NewStore(rdb, "empty:").Latest(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("Latest on nothing = %v", err)
	}
	// A record that is not JSON is an error, not a panic.
	rdb.Set(ctx, "t:"+KeyRun+"a", "{not json", 0)
	if _, err := store.Get(ctx, "a"); err == nil || !strings.Contains(err.Error(), "bad record") {
		t.Errorf("Get(bad) = %v", err)
	}
}
