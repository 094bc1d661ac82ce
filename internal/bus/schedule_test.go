package bus

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

// heartbeat registers a probe in KeyProbes, as its agent does.
func heartbeat(t *testing.T, b *Bus, id string) {
	t.Helper()
	if err := b.PutProbeStatus(context.Background(), ProbeStatus{ID: id, State: ProbeRunning, LastSeen: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func TestScheduleRoundTrip(t *testing.T) {
	for _, be := range bustest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			b := openBus(t, be.URL, Options{Prefix: "t-schedule:"})
			ctx := context.Background()
			opens := time.Date(2026, 11, 2, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
			p1 := []ScheduledSession{
				{ID: "2026-0412-03", Room: "yz-hall-1", Title: "道路工程 三标段", OpensAt: opens, DurationMS: 90 * 60 * 1000},
				{ID: "2026-0412-04", Room: "yz-hall-2", Title: "cancelled", OpensAt: opens.Add(time.Hour), DurationMS: 60_000, Cancelled: true},
				{ID: "adhoc:c1", Room: "jd-hall-1", Title: "probe now", OpensAt: opens, DurationMS: 300_000, AdHoc: true},
			}
			for _, id := range []string{"p1", "p2", "p3", "silent"} {
				heartbeat(t, b, id)
			}
			if err := b.PutSchedule(ctx, "p1", p1, time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := b.PutSchedule(ctx, "p2", nil, time.Minute); err != nil {
				t.Fatal(err)
			}
			// A bad entry is skipped; "silent" never wrote one.
			b.Client().Set(ctx, b.Key(KeySchedule+"p3"), "[{", time.Minute)

			got, err := b.Schedules(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("schedules of %d probes, want p1 and p2: %+v", len(got), got)
			}
			if len(got["p1"]) != 3 {
				t.Fatalf("p1: %+v", got["p1"])
			}
			for i, s := range got["p1"] {
				if !s.OpensAt.Equal(p1[i].OpensAt) {
					t.Errorf("p1[%d].OpensAt = %v, want %v", i, s.OpensAt, p1[i].OpensAt)
				}
				s.OpensAt = p1[i].OpensAt
				if !reflect.DeepEqual(s, p1[i]) {
					t.Errorf("p1[%d] = %+v, want %+v", i, s, p1[i])
				}
			}
			if end := got["p1"][0].EndsAt(); !end.Equal(opens.Add(90 * time.Minute)) {
				t.Errorf("EndsAt = %v", end)
			}
			if s, ok := got["p2"]; !ok || s == nil || len(s) != 0 {
				t.Errorf("p2 (covers nothing) = %#v, present %v; want an empty list", s, ok)
			}

			// TTL set; a new write replaces the list and renews it.
			if err := b.PutSchedule(ctx, "p1", p1[:1], 90*time.Second); err != nil {
				t.Fatal(err)
			}
			ttl, err := b.Client().PTTL(ctx, b.Key(KeySchedule+"p1")).Result()
			if err != nil {
				t.Fatal(err)
			}
			if ttl <= time.Minute || ttl > 90*time.Second {
				t.Errorf("TTL = %v, want (1m, 90s]", ttl)
			}
			if got, _ := b.Schedules(ctx); len(got["p1"]) != 1 {
				t.Errorf("after a rewrite, p1 = %+v", got["p1"])
			}

			if err := b.DeleteSchedule(ctx, "p1"); err != nil {
				t.Fatal(err)
			}
			if got, _ := b.Schedules(ctx); got["p1"] != nil {
				t.Errorf("after DeleteSchedule, p1 = %+v", got["p1"])
			}
			if err := b.PutSchedule(ctx, "p1", p1, 0); !errors.Is(err, ErrBadTTL) {
				t.Errorf("PutSchedule with ttl 0: err = %v, want ErrBadTTL", err)
			}
		})
	}
}

func TestSchedulesNoProbes(t *testing.T) {
	b := openBus(t, "", Options{Prefix: "t-schedule-none:"})
	got, err := b.Schedules(context.Background())
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("Schedules() = %v, %v; want an empty map", got, err)
	}
}

// A probe that stops renewing its schedule drops out when the TTL passes.
func TestScheduleExpires(t *testing.T) {
	srv := bustest.StartRedis(t)
	b := openBus(t, srv.URL(), Options{Prefix: "t-schedule-ttl:"})
	ctx := context.Background()
	heartbeat(t, b, "dead")
	heartbeat(t, b, "alive")
	s := []ScheduledSession{{ID: "S-1", Room: "hall-1", OpensAt: time.Now(), DurationMS: 60_000}}
	if err := b.PutSchedule(ctx, "dead", s, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := b.PutSchedule(ctx, "alive", s, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Schedules(ctx); err != nil || len(got) != 2 {
		t.Fatalf("before the TTL: %v, %v", got, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := b.Schedules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got["dead"]; !ok {
			if len(got["alive"]) != 1 {
				t.Errorf("alive = %+v", got["alive"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dead probe's schedule did not expire within 5 s of a 300 ms TTL")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
