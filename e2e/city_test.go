package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"golang.org/x/crypto/bcrypt"

	"github.com/bidwatch/bidwatch/console"
	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/probe"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/watchdog"
	"github.com/bidwatch/bidwatch/watchdog/dispatch"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// password is every test user's password.
const password = "e2e-password-1"

// city is the demo city running on loopback: the hall, two probe agents,
// the watchdog, a real redis-server and a console.
type city struct {
	cfg   *config.Config
	hall  *hall.Hall
	bus   *bus.Bus
	store *incident.RedisStore
	auth  *auth.Store

	consoleAddr string // kept across console restarts
	stopConsole func()
}

// startCity runs the city until the test ends.
func startCity(t *testing.T) *city {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("E2E_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := config.DemoCity()

	// The hall, on the city's rooms and servers.
	opts := hall.Options{Period: 250 * time.Millisecond, Seed: 3, NoMedia: true, Logger: logger}
	for _, s := range cfg.Servers {
		opts.Servers = append(opts.Servers, s.ID)
	}
	for _, r := range cfg.Rooms {
		opts.Rooms = append(opts.Rooms, hall.RoomSpec{ID: r.ID, Kind: string(r.Kind), Servers: r.Servers})
	}
	h, err := hall.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hsrv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hsrv.Serve(hln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = hsrv.Shutdown(ctx)
		_ = h.Close()
	})
	addr := hln.Addr().String()
	for i := range cfg.Rooms {
		r := &cfg.Rooms[i]
		r.EventsURL = strings.Replace(r.EventsURL, "127.0.0.1:7400", addr, 1)
		r.WHEPURL = strings.Replace(r.WHEPURL, "127.0.0.1:7400", addr, 1)
	}
	for i := range cfg.Servers {
		for j := range cfg.Servers[i].Health {
			hc := &cfg.Servers[i].Health[j]
			hc.URL = strings.Replace(hc.URL, "127.0.0.1:7400", addr, 1)
			hc.Address = strings.Replace(hc.Address, "127.0.0.1:7400", addr, 1)
			hc.Interval, hc.Timeout = time.Second, 800*time.Millisecond
		}
	}
	cfg.Probe.Window = 500 * time.Millisecond
	cfg.Probe.PingInterval = 250 * time.Millisecond
	cfg.Probe.WS.TickPeriod = 250 * time.Millisecond
	cfg.Probe.ReconnectMin = 100 * time.Millisecond
	cfg.Probe.ReconnectMax = 500 * time.Millisecond
	cfg.Probe.ConnectTimeout = time.Second
	w := &cfg.Watchdog
	w.Leader.LeaseTTL = 2 * time.Second
	w.Leader.Tick = 100 * time.Millisecond
	w.Leader.TakeoverGrace = 0
	w.Detect.Dropout.ClearAfter = 2 * time.Second
	cfg.Dispatch.Ack = config.AckLinks{BaseURL: "http://127.0.0.1:1", Secret: "e2e-ack-secret-0123456789", ValidFor: time.Hour}

	rdb := bustest.StartRedis(t)
	b, err := bus.Open(context.Background(), bus.Options{URL: rdb.URL(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})

	// A schedule: every room opens now.
	dir := t.TempDir()
	sched := filepath.Join(dir, "schedule.yaml")
	var sb strings.Builder
	sb.WriteString("sessions:\n")
	now := time.Now()
	for i, r := range cfg.Rooms {
		fmt.Fprintf(&sb, "  - id: e2e-%03d\n    room: %s\n    title: %q\n    opens_at: %s\n    expected_duration: 2h\n", i+1, r.ID, r.Name+" 开标", now.Format(time.RFC3339))
	}
	if err := os.WriteFile(sched, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{"yz", "gy"} {
		a, err := probe.New(probe.Options{
			ID: loc + "@e2e", Location: loc, Bus: b, Rooms: cfg.Rooms, Probe: cfg.Probe,
			Participants: map[string]int{"ws": 1}, ScheduleFile: sched, Lead: time.Minute, Tail: time.Minute,
			PatrolInterval: -1, HeartbeatInterval: time.Second, Logger: logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { _ = a.Run(ctx) })
	}
	wd, err := watchdog.New(watchdog.Options{Config: cfg, Bus: b, ID: "e2e", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { _ = wd.Run(ctx) })

	c := &city{cfg: cfg, hall: h, bus: b, store: incident.NewRedisStore(b.Client(), b.Prefix(), cfg.Watchdog.Incidents)}
	c.auth = auth.NewStore(b.Client(), b.Prefix())
	c.auth.BcryptCost = bcrypt.MinCost
	c.auth.LoginRate = redis_rate.PerMinute(100)
	for _, u := range []struct {
		name, display string
		role          auth.Role
	}{{"zhang", "张工", auth.RoleOperator}, {"li", "李主任", auth.RoleSupervisor}, {"screen", "大屏", auth.RoleViewer}} {
		if _, err := c.auth.AddUser(ctx, u.name, u.display, u.role, password); err != nil {
			t.Fatal(err)
		}
	}
	c.startConsole(t, logger)
	t.Cleanup(func() { c.stopConsole() })
	return c
}

// startConsole starts the console, on the address it had before if it ran
// already (the page's reconnects find it there again).
func (c *city) startConsole(t *testing.T, logger *slog.Logger) {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	addr := c.consoleAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		if ln, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.consoleAddr = ln.Addr().String()
	s, err := console.New(console.Options{
		City: c.cfg, Bus: c.bus, Incidents: c.store, Auth: c.auth,
		Ack: dispatch.NewAckSigner(c.cfg.Dispatch.Ack), Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ctx, ln) }()
	var once sync.Once
	c.stopConsole = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("console did not stop within 10 s")
			}
		})
	}
}

// url is the console's address for a path.
func (c *city) url(path string) string { return "http://" + c.consoleAddr + path }
