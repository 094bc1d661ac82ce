package probe

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
)

func TestPublished(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	in := func(ids ...string) map[string]config.Room {
		m := map[string]config.Room{}
		for _, r := range testRooms(ids...) {
			m[r.ID] = r
		}
		return m
	}
	at := func(id, room string, opens time.Duration, dur time.Duration) Session {
		return Session{ID: id, Room: room, Title: "t " + id, OpensAt: now.Add(opens), ExpectedDuration: dur}
	}
	many := func(n int, from, step time.Duration) []Session {
		var out []Session
		for i := range n {
			out = append(out, at(fmt.Sprintf("S-%03d", i), "hall-1", from+time.Duration(i)*step, time.Minute))
		}
		return out
	}
	tests := []struct {
		name     string
		sessions []Session
		rooms    map[string]config.Room
		want     []string // ids, in order
	}{
		{"none", nil, in("hall-1"), []string{}},
		{"window", []Session{
			at("late", "hall-1", 24*time.Hour, time.Hour),                                         // opens at the far edge: out
			at("tomorrow", "hall-1", 23*time.Hour, time.Hour),                                     // in
			at("open", "hall-1", -30*time.Minute, time.Hour),                                      // running now
			at("ended", "hall-1", -13*time.Hour, 90*time.Minute),                                  // ended 11.5 h ago: in
			at("long-ago", "hall-1", -14*time.Hour, 2*time.Hour),                                  // ended 12 h ago: out
			at("other-room", "hall-9", time.Hour, time.Hour),                                      // not a room of the agent
			{ID: "c", Room: "hall-1", OpensAt: now, ExpectedDuration: time.Hour, Cancelled: true}, // listed, cancelled
		}, in("hall-1"), []string{"ended", "open", "c", "tomorrow"}},
		// Too many: the ones not yet ended first, then the most recently ended.
		{"bounded ahead", many(maxPublished+50, time.Minute, time.Minute), in("hall-1"), ids(many(maxPublished, time.Minute, time.Minute))},
		{"bounded mixed", append(many(maxPublished-2, time.Minute, time.Minute), at("past-1", "hall-1", -3*time.Hour, time.Hour),
			at("past-2", "hall-1", -2*time.Hour, time.Hour), at("past-3", "hall-1", -4*time.Hour, time.Hour)),
			in("hall-1"), append([]string{"past-1", "past-2"}, ids(many(maxPublished-2, time.Minute, time.Minute))...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := published(now, tt.sessions, tt.rooms)
			gotIDs := make([]string, len(got))
			for i, s := range got {
				gotIDs[i] = s.ID
			}
			if !slices.Equal(gotIDs, tt.want) {
				t.Errorf("published = %v\nwant %v", gotIDs, tt.want)
			}
		})
	}
	got := published(now, []Session{{ID: "a", Room: "hall-1", Title: "T", OpensAt: now, ExpectedDuration: 90 * time.Minute, AdHoc: true}}, in("hall-1"))
	want := bus.ScheduledSession{ID: "a", Room: "hall-1", Title: "T", OpensAt: now, DurationMS: 90 * 60 * 1000, AdHoc: true}
	if len(got) != 1 || got[0] != want {
		t.Errorf("published = %+v, want [%+v]", got, want)
	}
}

func ids(ss []Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

// The agent keeps the sessions it covers in Redis, renewed at every
// heartbeat with a TTL of a few heartbeats, follows schedule changes and a
// "probe now" command, and withdraws them when it stops.
func TestAgentPublishesSchedule(t *testing.T) {
	for _, be := range bustest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			b := openBus(t, be.URL, "t-sched:")
			ctx := context.Background()
			path := schedulePath(t)
			now := time.Now()
			s1 := sessionYAML{id: "S-1", room: "hall-1", opensAt: now.Add(time.Hour), dur: 90 * time.Minute}
			s2 := sessionYAML{id: "S-2", room: "hall-2", opensAt: now.Add(2 * time.Hour), dur: time.Hour, cancelled: true}
			far := sessionYAML{id: "S-far", room: "hall-3", opensAt: now.Add(48 * time.Hour), dur: time.Hour}
			writeSchedule(t, path, s1, s2, far)
			opts := fakeOptions(t, b, newRecorder(), 100*time.Millisecond)
			opts.ScheduleFile = path
			a, stop := startAgent(t, opts)

			schedule := func() ([]bus.ScheduledSession, bool) {
				m, err := b.Schedules(ctx)
				if err != nil {
					t.Fatal(err)
				}
				s, ok := m["probe-a"]
				return s, ok
			}
			waitFor(t, 5*time.Second, "the schedule in Redis", func() bool { _, ok := schedule(); return ok })
			got, _ := schedule()
			if len(got) != 2 || got[0].ID != "S-1" || got[1].ID != "S-2" {
				t.Fatalf("schedule = %+v, want S-1 and S-2 (S-far is beyond 24 h)", got)
			}
			if got[0].Room != "hall-1" || !got[0].OpensAt.Equal(s1.opensAt) || got[0].DurationMS != 90*60*1000 || got[0].Title != "test" ||
				got[0].Cancelled || !got[1].Cancelled {
				t.Errorf("schedule = %+v", got)
			}
			ttl, err := b.Client().PTTL(ctx, b.Key(bus.KeySchedule+"probe-a")).Result()
			if err != nil {
				t.Fatal(err)
			}
			if limit := scheduleTTLBeats * opts.HeartbeatInterval; ttl <= 0 || ttl > limit {
				t.Errorf("TTL = %v, want (0, %v]", ttl, limit)
			}

			// A change reaches Redis by the next heartbeat.
			s2.cancelled = false
			writeSchedule(t, path, s1, s2)
			waitFor(t, 5*time.Second, "S-2 no longer cancelled", func() bool {
				s, _ := schedule()
				return len(s) == 2 && !s[1].Cancelled
			})
			// So does a "probe now" command.
			a.command(bus.Command{ID: "c1", Kind: bus.CommandProbeNow, Room: "hall-3", At: time.Now(), For: time.Minute})
			waitFor(t, 5*time.Second, "the ad-hoc session", func() bool {
				s, _ := schedule()
				return len(s) == 3 && s[0].ID == "adhoc:c1" && s[0].AdHoc && s[0].Room == "hall-3"
			})

			stop()
			if s, ok := schedule(); ok {
				t.Errorf("after a clean stop, the schedule is still there: %+v", s)
			}
		})
	}
}
