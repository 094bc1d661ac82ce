package console

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
)

// The console's performance, measured end to end on a real redis-server
// and real WebSocket viewers. The viewers run in the benchmark's own
// process: CPU and memory figures include the clients' share, and say so.
//
//	go test -run '^$' -bench FaultToFeed -benchtime 20x ./console/
//	go test -run '^$' -bench 'Viewers$' -benchtime 10x ./console/
//	go test -run '^$' -bench ViewerMemory -benchtime 500x ./console/

// BenchmarkFaultToFeed: a participant drops out in a room whose tile was
// ok; how long until a connected viewer gets a tick with the room down.
// The feed ticks once a second, so the latency is spread over that second
// (the fault comes at a random moment of it); the target is a p95 under
// 1 s.
func BenchmarkFaultToFeed(b *testing.B) {
	e := newEnv(b, envOptions{})
	rooms := make([]string, 0, len(e.city.Rooms))
	for _, r := range e.city.Rooms {
		rooms = append(rooms, r.ID)
	}
	e.feedSamples(b, rooms)
	v := e.viewer(e.login("screen"), dialOpts{})

	var lat []time.Duration
	i := 0
	for b.Loop() {
		// Each room in turn, so that the one before has time to recover.
		room := rooms[i%len(rooms)]
		i++
		r, _ := e.city.Room(room)
		b.StopTimer()
		v.next(10*time.Second, room+" ok", roomTick(b, room, StateOK))
		// A fault comes at any moment of the second between two ticks.
		<-time.After(rand.N(time.Second))
		b.StartTimer()
		start := time.Now()
		e.publish(sampleAt(room, r.SubCenter, sample.TransportWS, "fault-"+room, start, func(s *sample.Sample) {
			s.Connected, s.Dropouts, s.Error = false, 1, "read: connection reset by peer"
		}))
		m := v.next(5*time.Second, room+" down", roomTick(b, room, StateDown))
		lat = append(lat, m.at.Sub(start))
	}
	slices.Sort(lat)
	b.ReportMetric(msOf(quantile(lat, 0.50)), "p50-ms")
	b.ReportMetric(msOf(quantile(lat, 0.95)), "p95-ms")
	b.ReportMetric(msOf(lat[len(lat)-1]), "max-ms")
}

// BenchmarkViewers: N viewers on one console of 50 rooms, all probed, for
// one tick per iteration (-benchtime 10x is ten seconds): the share of
// ticks each viewer got within 1.5 s of when the console sent them, and
// the CPU the process used (console and clients together).
func BenchmarkViewers(b *testing.B) {
	for _, n := range []int{250, 500, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchViewers(b, n) })
	}
}

// receipt is when a viewer got the tick of second t.
type receipt struct {
	t  int64
	at time.Time
}

func benchViewers(b *testing.B, n int) {
	e := newEnv(b, envOptions{city: fiftyRooms, alignTicks: true})
	rooms := make([]string, 0, len(e.city.Rooms))
	for _, r := range e.city.Rooms {
		rooms = append(rooms, r.ID)
	}
	e.feedSamples(b, rooms)
	screen := e.login("screen")

	got := make([][]receipt, n) // each written by its viewer's reader only
	clients := make([]*liveClient, n)
	var tickBytes atomic.Int64
	if err := connectAll(e, screen, n, func(i int) dialOpts {
		return dialOpts{onMsg: func(m liveMsg) {
			if t, ok := tickTime(m.data); ok {
				got[i] = append(got[i], receipt{t, m.at})
				if i == 0 {
					tickBytes.Store(int64(len(m.data)))
				}
			}
		}}
	}, clients); err != nil {
		b.Fatal(err)
	}
	eventually(b, 30*time.Second, fmt.Sprintf("%d viewers", n), func() bool { return e.srv.Hub().Viewers() == n })

	// One tick an iteration: each waits until the console has sent the
	// next one.
	pace := func(t int64) {
		select {
		case <-time.After(time.Until(e.tickSent(t).Add(100 * time.Millisecond))):
		case <-time.After(2 * time.Second):
		}
	}
	first := time.Now().Add(-tickPhase).Unix() + 1 // the next tick to be sent
	cpu0, wall0 := cpuTime(), time.Now()
	last := first
	for b.Loop() {
		pace(last)
		last++
	}
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	last-- // the ticks of first…last were sent in the loop
	// Give the late ones their 1.5 s, then stop the clients.
	<-time.After(time.Until(e.tickSent(last).Add(1600 * time.Millisecond)))
	dropped := e.srv.Hub().Dropped()
	for _, c := range clients {
		c.close()
	}

	want := int(last-first+1) * n
	onTime := 0
	var lateness []time.Duration
	for _, rs := range got {
		for _, r := range rs {
			if r.t < first || r.t > last {
				continue
			}
			d := r.at.Sub(e.tickSent(r.t))
			lateness = append(lateness, d)
			if d <= 1500*time.Millisecond {
				onTime++
			}
		}
	}
	slices.Sort(lateness)
	b.ReportMetric(100*float64(onTime)/float64(want), "on-time-%")
	if len(lateness) > 0 {
		b.ReportMetric(msOf(quantile(lateness, 0.99)), "p99-delivery-ms")
	}
	b.ReportMetric(float64(dropped), "dropped")
	b.ReportMetric(float64(tickBytes.Load()), "tick-bytes")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cpu-cores-incl-clients")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/float64(runtime.NumCPU()), "cpu-%-of-machine-incl-clients")
}

// BenchmarkViewerMemory: the heap a connected viewer costs, after a
// collection, one viewer per iteration (-benchtime 500x). Both ends of
// each connection are in this process: the figure includes the client's
// buffers (about 5 KiB of the total).
func BenchmarkViewerMemory(b *testing.B) {
	e := newEnv(b, envOptions{city: fiftyRooms})
	screen := e.login("screen")
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	n := 0
	for b.Loop() {
		hello := make(chan struct{})
		var once sync.Once
		e.viewer(screen, dialOpts{onMsg: func(m liveMsg) {
			if m.kind() == "hello" {
				once.Do(func() { close(hello) })
			}
		}})
		select {
		case <-hello:
		case <-time.After(wait):
			b.Fatal("no hello")
		}
		n++
	}
	eventually(b, wait, "every viewer connected", func() bool { return e.srv.Hub().Viewers() == n })
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))/float64(n), "bytes/viewer")
	b.ReportMetric(float64(int64(ms1.StackInuse)-int64(ms0.StackInuse))/float64(n), "stack-bytes/viewer")
}

// fiftyRooms makes the demo city's rooms 50, each room copied with a new
// id in its sub-center.
func fiftyRooms(c *config.Config) {
	base := slices.Clone(c.Rooms)
	for i := 0; len(c.Rooms) < 50; i++ {
		r := base[i%len(base)]
		r.ID = fmt.Sprintf("%s-c%d", r.ID, i)
		r.Name = fmt.Sprintf("%s (%d)", r.Name, i)
		c.Rooms = append(c.Rooms, r)
	}
}

// connectAll connects n viewers, a few at a time.
func connectAll(e *env, s session, n int, opts func(i int) dialOpts, out []*liveClient) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				v, err := e.connect(s, opts(i))
				if err != nil {
					errs <- err
					continue
				}
				out[i] = v
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	return <-errs
}

// tickSent is when an aligned console sent its tick of second t.
func (e *env) tickSent(t int64) time.Time { return time.Unix(t, 0).Add(tickPhase) }

// tickTime reads a tick's second without decoding the rest: a tick
// starts {"type":"tick","t":SECONDS,.
func tickTime(data []byte) (int64, bool) {
	const pre = `{"type":"tick","t":`
	if !bytes.HasPrefix(data, []byte(pre)) {
		return 0, false
	}
	rest := data[len(pre):]
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		return 0, false
	}
	t, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	return t, err == nil
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
