package probe

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

// A session opening in 2 s with a 1 s lead: the participants join 1 s from
// now and leave after the expected end plus the tail; every Sample reaches
// the stream, stamped with the probe, location, session and room.
func TestAgentSessionTiming(t *testing.T) {
	for _, be := range bustest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			b := openBus(t, be.URL, "t-timing:")
			rec := newRecorder()
			path := schedulePath(t)
			opensAt := time.Now().Add(2 * time.Second)
			writeSchedule(t, path, sessionYAML{id: "S-1", room: "hall-2", opensAt: opensAt, dur: time.Second})
			opts := fakeOptions(t, b, rec, 100*time.Millisecond)
			opts.ScheduleFile, opts.Lead, opts.Tail = path, time.Second, 500*time.Millisecond
			_, stop := startAgent(t, opts)

			waitFor(t, 3*time.Second, "participants to join", func() bool { return rec.active() == 2 })
			waitFor(t, 4*time.Second, "participants to leave", func() bool {
				_, left, _, _ := rec.participants()
				return len(left) == 2
			})
			stop()

			joined, left, room, emitted := rec.participants()
			wantJoin, wantLeave := opensAt.Add(-time.Second), opensAt.Add(1500*time.Millisecond)
			for p := range joined {
				if d := joined[p].Sub(wantJoin); d < -5*time.Millisecond || d > 200*time.Millisecond {
					t.Errorf("%s joined %v from the lead time", p, d)
				}
				if d := left[p].Sub(wantLeave); d < -5*time.Millisecond || d > 200*time.Millisecond {
					t.Errorf("%s left %v from the end of the tail", p, d)
				}
				if room[p] != "hall-2" {
					t.Errorf("%s joined room %s", p, room[p])
				}
			}
			samples := streamSamples(t, b)
			checkComplete(t, samples, emitted)
			for _, s := range samples {
				if s.Probe != "probe-a" || s.Location != "sc-1" || s.Session != "S-1" || s.Room != "hall-2" {
					t.Fatalf("sample identity: probe %q location %q session %q room %q", s.Probe, s.Location, s.Session, s.Room)
				}
			}
			if len(samples) < 40 {
				t.Errorf("only %d samples from 2 participants over 3.5 s at 10/s", len(samples))
			}
		})
	}
}

// Cancelling a session stops its participants; moving one out of its window
// stops it; adding one starts it.
func TestAgentScheduleChanges(t *testing.T) {
	for _, be := range bustest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			b := openBus(t, be.URL, "t-changes:")
			rec := newRecorder()
			path := schedulePath(t)
			now := time.Now()
			s1 := sessionYAML{id: "S-1", room: "hall-1", opensAt: now, dur: time.Hour}
			s2 := sessionYAML{id: "S-2", room: "hall-2", opensAt: now, dur: time.Hour}
			writeSchedule(t, path, s1, s2)
			opts := fakeOptions(t, b, rec, 100*time.Millisecond)
			opts.ScheduleFile = path
			a, stop := startAgent(t, opts)
			waitFor(t, 2*time.Second, "4 participants", func() bool { return rec.active() == 4 })
			time.Sleep(300 * time.Millisecond)

			s1.cancelled = true
			s2.opensAt = now.Add(24 * time.Hour)
			s3 := sessionYAML{id: "S-3", room: "hall-3", opensAt: now, dur: time.Hour}
			writeSchedule(t, path, s1, s2, s3)
			waitFor(t, 2*time.Second, "cancelled and moved sessions to stop, the new one to start", func() bool {
				r := a.Running()
				return rec.active() == 2 && len(r) == 1 && r[0].Key == "session:S-3@hall-3"
			})
			// A broken edit keeps S-3 running.
			writeSchedule(t, path, sessionYAML{id: "S-3", room: "hall-99", opensAt: now, dur: time.Hour})
			time.Sleep(200 * time.Millisecond)
			if r := a.Running(); len(r) != 1 || r[0].Key != "session:S-3@hall-3" {
				t.Errorf("after a bad edit: running %v", r)
			}
			stop()
			_, _, _, emitted := rec.participants()
			checkComplete(t, streamSamples(t, b), emitted)
		})
	}
}

// Patrol visits every room, briefly, staggered.
func TestAgentPatrol(t *testing.T) {
	b := openBus(t, "", "t-patrol:")
	rec := newRecorder()
	opts := fakeOptions(t, b, rec, 50*time.Millisecond)
	opts.PatrolInterval, opts.PatrolDuration = 1500*time.Millisecond, 200*time.Millisecond
	opts.Participants = map[string]int{"ws": 1}
	_, stop := startAgent(t, opts)
	waitFor(t, 3*time.Second, "every room patrolled", func() bool {
		_, left, room, _ := rec.participants()
		seen := map[string]bool{}
		for p := range left {
			seen[room[p]] = true
		}
		return len(seen) == 3
	})
	stop()
	joined, left, _, emitted := rec.participants()
	for p := range left {
		if d := left[p].Sub(joined[p]); d > 300*time.Millisecond {
			t.Errorf("patrol by %s lasted %v, want about 200 ms", p, d)
		}
	}
	checkComplete(t, streamSamples(t, b), emitted)
	for _, s := range streamSamples(t, b) {
		if s.Session != "" {
			t.Fatalf("patrol sample with session %q", s.Session)
		}
	}
}

// `bidwatch probe now ROOM --for D` reaches the agents it is meant for.
func TestAgentProbeNowCommand(t *testing.T) {
	b := openBus(t, "", "t-now:")
	rec := newRecorder()
	opts := fakeOptions(t, b, rec, 100*time.Millisecond)
	a, stop := startAgent(t, opts)
	ctx := context.Background()
	// For another location: ignored.
	if _, err := b.SendCommand(ctx, bus.Command{Kind: bus.CommandProbeNow, Room: "hall-1", For: time.Minute, At: time.Now(), Location: "sc-9"}); err != nil {
		t.Fatal(err)
	}
	id, err := b.SendCommand(ctx, bus.Command{Kind: bus.CommandProbeNow, Room: "hall-3", For: time.Second, At: time.Now(), By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "probe-now participants", func() bool { return rec.active() == 2 })
	if r := a.Running(); len(r) != 1 || r[0].Room != "hall-3" || r[0].Session != "adhoc:"+id || r[0].Kind != KindAdHoc {
		t.Fatalf("running %+v", r)
	}
	waitFor(t, 2*time.Second, "probe-now to end", func() bool { return rec.active() == 0 })
	stop()
	_, _, _, emitted := rec.participants()
	checkComplete(t, streamSamples(t, b), emitted)
}

// Two agents at two locations probing the same room: their Samples are told
// apart by probe and location, and each participant's seqs stay whole.
func TestTwoAgentsSameRoom(t *testing.T) {
	for _, be := range bustest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			b := openBus(t, be.URL, "t-two:")
			path := schedulePath(t)
			writeSchedule(t, path, sessionYAML{id: "S-1", room: "hall-1", opensAt: time.Now(), dur: time.Hour})
			recs := map[string]*recorder{}
			var stops []func()
			for _, loc := range []string{"sc-1", "sc-2"} {
				rec := newRecorder()
				recs[loc] = rec
				opts := fakeOptions(t, b, rec, 100*time.Millisecond)
				opts.ID, opts.Location, opts.ScheduleFile = "probe-"+loc, loc, path
				_, stop := startAgent(t, opts)
				stops = append(stops, stop)
			}
			time.Sleep(time.Second)
			for _, stop := range stops {
				stop()
			}
			samples := streamSamples(t, b)
			all := map[string]uint64{}
			count := map[string]int{}
			for loc, rec := range recs {
				_, _, _, emitted := rec.participants()
				for p, n := range emitted {
					all[p] = n
				}
				for _, s := range samples {
					if s.Location == loc {
						count[loc]++
						if s.Probe != "probe-"+loc {
							t.Fatalf("sample from %s carries probe %s", loc, s.Probe)
						}
						if _, ok := emitted[s.Participant]; !ok {
							t.Fatalf("sample at %s from participant %s of the other agent", loc, s.Participant)
						}
					}
				}
			}
			checkComplete(t, samples, all)
			if count["sc-1"] < 10 || count["sc-2"] < 10 {
				t.Errorf("samples by location: %v", count)
			}
			st, err := b.ProbeStatuses(context.Background())
			if err != nil || len(st) != 2 || st[0].State != bus.ProbeStopped || st[0].Location != "sc-1" || st[1].Location != "sc-2" {
				t.Errorf("heartbeats: %+v, %v", st, err)
			}
		})
	}
}

// Redis stopped for 10 s mid-session, then restarted: every Sample arrives,
// in order per participant, with no duplicate and no gap in seq; the spool
// depth shows in /metrics meanwhile.
func TestAgentRedisOutage(t *testing.T) {
	srv := bustest.StartRedis(t, bustest.WithAOF())
	b := openBus(t, srv.URL()+"?dial_timeout=300ms&read_timeout=1s&write_timeout=1s&max_retries=-1", "t-outage:")
	rec := newRecorder()
	path := schedulePath(t)
	writeSchedule(t, path, sessionYAML{id: "S-1", room: "hall-1", opensAt: time.Now(), dur: time.Hour})
	opts := fakeOptions(t, b, rec, 100*time.Millisecond)
	opts.ScheduleFile, opts.SpoolDir, opts.MetricsListen = path, t.TempDir(), "127.0.0.1:0"
	a, stop := startAgent(t, opts)
	addr := a.MetricsAddr()

	waitFor(t, 3*time.Second, "samples in the stream", func() bool { return len(streamSamples(t, b)) >= 20 })
	srv.Stop()
	outage := time.Now()
	waitFor(t, 5*time.Second, "the spool to fill", func() bool {
		return scrape(t, addr, "bidwatch_probe_spool_depth") >= 20
	})
	if up := scrape(t, addr, "bidwatch_probe_redis_up"); up != 0 {
		t.Errorf("redis_up = %v during the outage", up)
	}
	if e := scrape(t, addr, "bidwatch_probe_publish_errors_total"); e < 1 {
		t.Errorf("publish_errors_total = %v during the outage", e)
	}
	time.Sleep(10*time.Second - time.Since(outage))
	depth := scrape(t, addr, "bidwatch_probe_spool_depth")
	if depth < 150 {
		t.Errorf("spool depth %v after 10 s of 2 participants at 10/s", depth)
	}
	srv.Restart()
	waitFor(t, 10*time.Second, "the spool to drain", func() bool {
		return scrape(t, addr, "bidwatch_probe_spool_depth") == 0
	})
	time.Sleep(300 * time.Millisecond)
	stop()

	_, _, _, emitted := rec.participants()
	samples := streamSamples(t, b)
	checkComplete(t, samples, emitted)
	total := uint64(0)
	for _, n := range emitted {
		total += n
	}
	if total < 250 {
		t.Errorf("only %d samples emitted over the test", total)
	}
	for _, s := range samples {
		if s.SamplesDropped != 0 {
			t.Fatalf("participant %s dropped samples: the agent blocked it", s.Participant)
		}
	}
	t.Logf("outage test: %d samples, peak spool depth %v", len(samples), depth)
}

// Redis away when the agent stops: the spool keeps the Samples on disk and
// the next run replays them.
func TestAgentSpoolSurvivesRestart(t *testing.T) {
	srv := bustest.StartRedis(t, bustest.WithAOF())
	b := openBus(t, srv.URL()+"?dial_timeout=300ms&read_timeout=1s&write_timeout=1s&max_retries=-1", "t-restart:")
	rec := newRecorder()
	path := schedulePath(t)
	spoolDir := t.TempDir()
	writeSchedule(t, path, sessionYAML{id: "S-1", room: "hall-1", opensAt: time.Now(), dur: time.Hour})
	opts := fakeOptions(t, b, rec, 100*time.Millisecond)
	opts.ScheduleFile, opts.SpoolDir, opts.FlushTimeout = path, spoolDir, 500*time.Millisecond
	_, stop := startAgent(t, opts)
	waitFor(t, 3*time.Second, "samples in the stream", func() bool { return len(streamSamples(t, b)) >= 10 })
	srv.Stop()
	time.Sleep(time.Second)
	stop()
	if files(t, spoolDir) == 0 {
		t.Fatal("nothing spooled on disk")
	}

	srv.Restart()
	opts2 := fakeOptions(t, b, newRecorder(), 100*time.Millisecond)
	opts2.SpoolDir = spoolDir
	a2, stop2 := startAgent(t, opts2)
	waitFor(t, 5*time.Second, "the old spool to be replayed", func() bool { return a2.spool.Depth() == 0 })
	stop2()
	_, _, _, emitted := rec.participants()
	checkComplete(t, streamSamples(t, b), emitted)
}

func TestOptionsErrors(t *testing.T) {
	rec := newRecorder()
	b := openBus(t, "", "t-opts:")
	opts := fakeOptions(t, b, rec, time.Second)
	opts.Location = ""
	opts.Participants = map[string]int{"ws": 1, "carrier-pigeon": 1}
	opts.ID = "a/b"
	_, err := New(opts)
	for _, want := range []string{"location: missing", `participants: unknown transport "carrier-pigeon" (known: ws)`, `id: "a/b" must not contain`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
	opts = fakeOptions(t, b, rec, time.Second)
	opts.ScheduleFile = "testdata/schedules/invalid-opens-at.yaml"
	if _, err := New(opts); err == nil || !strings.Contains(err.Error(), "sessions[3].opens_at") {
		t.Errorf("bad schedule at start: err = %v", err)
	}
}
