package probe

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
)

// BenchmarkAgentPublish measures the agent's publishing path: Samples
// appended to the spool by 1,000 participants' runners, moved to a private
// redis-server by the publisher (batches of 1,024, pipelined, idempotent
// script). Reports samples/s from the first append to the spool empty.
func BenchmarkAgentPublish(b *testing.B) {
	srv := bustest.StartRedis(b)
	bs, err := bus.Open(context.Background(), bus.Options{URL: srv.URL(), Prefix: "bench:"})
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	spool, err := OpenSpool(SpoolOptions{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer spool.Close()
	m := newMetrics(spool)
	pub := &publisher{bus: bs, spool: spool, metrics: m, logger: slog.New(slog.DiscardHandler)}
	stop := make(chan struct{})
	done := make(chan bool)
	go func() { done <- pub.run(stop, 5*time.Second) }()
	defer func() { close(stop); <-done }()

	const participants, perRound = 1000, 50
	seq := uint64(0)
	total := 0
	start := time.Now()
	for b.Loop() {
		for range perRound {
			seq++
			for p := range participants {
				s := sample.Sample{Probe: "bench", Location: "sc-1", Session: "S-1", Room: "hall-1",
					Transport: sample.TransportWS, Participant: fmt.Sprintf("hall-1/ws-%d/bench", p), Seq: seq,
					WindowStart: time.Unix(int64(seq), 0), WindowMS: 1000, Connected: true, ConnectedMS: 1000,
					RTTCount: 1, RTTMedianMS: 1.2, RTTMaxMS: 1.2, Messages: 1, LargestGapMS: 1000}
				e, err := bus.NewEntry(s)
				if err != nil {
					b.Fatal(err)
				}
				spool.Append(e)
			}
		}
		total += participants * perRound
		for spool.Depth() > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "samples/s")
	if d := spool.Dropped(); d != 0 {
		b.Fatalf("%d dropped", d)
	}
}

// BenchmarkAgentCPU runs a whole agent with 1,000 fake participants (100
// rooms × 10) emitting one Sample a second each into a private
// redis-server, for 10 s, and reports the agent's CPU (getrusage, user +
// system) as cores per 1,000 participants. The fake participants cost
// nearly nothing, so this is the agent's own share: stamping, encoding,
// spooling and publishing.
func BenchmarkAgentCPU(b *testing.B) {
	srv := bustest.StartRedis(b)
	bs, err := bus.Open(context.Background(), bus.Options{URL: srv.URL(), Prefix: "bench-cpu:"})
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	var rooms []config.Room
	var sched strings.Builder
	sched.WriteString("sessions:\n")
	now := time.Now()
	for i := range 100 {
		id := fmt.Sprintf("hall-%d", i)
		rooms = append(rooms, config.Room{ID: id, EventsURL: "ws://127.0.0.1:1/x"})
		fmt.Fprintf(&sched, "  - {id: S-%d, room: %s, opens_at: %q, expected_duration: 1h}\n", i, id, now.Format(time.RFC3339Nano))
	}
	path := filepath.Join(b.TempDir(), "schedule.yaml")
	if err := os.WriteFile(path, []byte(sched.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	rec := newRecorder()
	for b.Loop() {
		a, err := New(Options{
			ID: "bench", Location: "sc-1", Bus: bs, Rooms: rooms, Probe: config.DefaultProbe(),
			Participants: map[string]int{"ws": 10},
			Transports:   map[string]Factory{"ws": rec.factory(sample.TransportWS, time.Second)},
			ScheduleFile: path, PatrolInterval: -1, SpoolDir: b.TempDir(),
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- a.Run(ctx) }()
		for rec.active() < 1000 {
			time.Sleep(10 * time.Millisecond)
		}
		before, t0 := cpuTime(b), time.Now()
		time.Sleep(10 * time.Second)
		cpu, wall := cpuTime(b)-before, time.Since(t0)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores/1k-participants")
		b.ReportMetric(float64(cpu.Microseconds())/float64(wall.Seconds()*1000), "cpu-µs/sample")
	}
	n, _ := bs.Client().XLen(context.Background(), bs.Key(bus.KeySamples)).Result()
	b.ReportMetric(float64(n), "samples-in-stream")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
