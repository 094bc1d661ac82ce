package watchdog

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/synthetic/ws"
)

// e2e timings: the hall ticks every 250 ms and participants ping every
// 250 ms and report every 500 ms, so the tests run in seconds.
const (
	hallPeriod  = 250 * time.Millisecond
	probeWindow = 500 * time.Millisecond
)

// startHall serves the city's rooms and servers on a loopback port.
func startHall(t testing.TB, city *config.Config) (*hall.Hall, string) {
	t.Helper()
	opts := hall.Options{Period: hallPeriod, Seed: 7}
	for _, s := range city.Servers {
		opts.Servers = append(opts.Servers, s.ID)
	}
	for _, r := range city.Rooms {
		opts.Rooms = append(opts.Rooms, hall.RoomSpec{ID: r.ID, Kind: string(r.Kind), Servers: r.Servers})
	}
	h, err := hall.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
	})
	return h, strings.TrimPrefix(srv.URL, "http://")
}

// e2eCity is fastCity served by a fresh hall, with the probe timings above.
func e2eCity(t testing.TB) (*config.Config, *hall.Hall) {
	t.Helper()
	// The hall must know the rooms before the city's URLs can point at it.
	base := config.DemoCity()
	h, addr := startHall(t, base)
	city := fastCity(t, addr)
	city.Probe.Window = probeWindow
	city.Probe.PingInterval = hallPeriod
	city.Probe.WS.TickPeriod = hallPeriod
	city.Probe.ReconnectMin = 100 * time.Millisecond
	city.Probe.ReconnectMax = 500 * time.Millisecond
	city.Probe.ConnectTimeout = time.Second
	return city, h
}

// startPath starts one location's network path to the hall (hall.Path):
// cutting it drops every connection through it and refuses new ones.
func startPath(t testing.TB, target string) *hall.Path {
	t.Helper()
	p, err := hall.NewPath(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// probeSim is a probe agent in miniature: WebSocket participants in rooms,
// each Sample published as it comes, and a heartbeat.
type probeSim struct {
	id, loc string
	bus     *bus.Bus
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	sent    atomic.Int64
}

// via, when not "", is the host:port participants connect through instead
// of the hall's.
func startProbe(t testing.TB, b *bus.Bus, city *config.Config, id, loc, via string, rooms []string, perRoom int) *probeSim {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &probeSim{id: id, loc: loc, bus: b, cancel: cancel}
	samples := make(chan sample.Sample, 1024)
	var parts sync.WaitGroup
	for _, rid := range rooms {
		room, ok := city.Room(rid)
		if !ok {
			t.Fatalf("no room %s", rid)
		}
		r := *room
		if via != "" {
			host := strings.TrimPrefix(r.EventsURL, "ws://")
			host = host[:strings.IndexByte(host, '/')]
			r.EventsURL = strings.Replace(r.EventsURL, host, via, 1)
		}
		for i := range perRoom {
			cfg := ws.ConfigFrom(city.Probe, r, id+"/"+rid+"/"+string(rune('a'+i)))
			wp, err := ws.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			parts.Go(func() { _ = wp.Run(ctx, samples) })
		}
	}
	p.wg.Go(func() {
		parts.Wait()
		close(samples)
	})
	p.wg.Go(func() {
		for s := range samples {
			s.Probe, s.Location, s.Session = id, loc, "S-e2e"
			e, err := bus.NewEntry(s)
			if err != nil {
				continue
			}
			if res, err := b.Publish(context.Background(), []bus.Entry{e}); err == nil {
				p.sent.Add(int64(res.Added))
			}
		}
	})
	p.wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			_ = b.PutProbeStatus(context.Background(), bus.ProbeStatus{ID: id, Location: loc, State: bus.ProbeRunning, Rooms: rooms, LastSeen: time.Now(), HeartbeatMS: 1000})
			select {
			case <-ctx.Done():
				_ = b.PutProbeStatus(context.Background(), bus.ProbeStatus{ID: id, Location: loc, State: bus.ProbeStopped, LastSeen: time.Now(), HeartbeatMS: 1000})
				return
			case <-t.C:
			}
		}
	})
	t.Cleanup(p.stop)
	return p
}

func (p *probeSim) stop() {
	p.cancel()
	p.wg.Wait()
}
