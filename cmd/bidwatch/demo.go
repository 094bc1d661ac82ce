package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/probe"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/watchdog"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// demoLocations are the sub-centers the demo's probe agents run in. Each
// reaches the hall through its own network path, so a drill can hurt one
// location's path only.
var demoLocations = []string{"yz", "gy"}

// drill is one step of the demo's fault script: it starts, holds, and is
// cleared, with a pause before the next.
type drill struct {
	name  string
	start func(d *demoCity) error
	stop  func(d *demoCity)
	// repeat, when set, starts it again this often while it holds.
	repeat time.Duration
	hold   time.Duration
	pause  time.Duration
}

func demoDrills() []drill {
	return []drill{
		{
			name: "media server jd-media-1 saturated: CPU 97 %, its rooms lag 600 ms",
			start: func(d *demoCity) error {
				cpu := 97.0
				if err := d.hall.Server("jd-media-1").SetHealth(hall.Health{CPUPct: &cpu}); err != nil {
					return err
				}
				return d.eachRoomOf("jd-media-1", func(r *hall.Room) error { return r.SetFault(hall.Fault{LatencyMS: 600, JitterMS: 100}) })
			},
			stop: func(d *demoCity) {
				d.hall.Server("jd-media-1").ClearHealth()
				_ = d.eachRoomOf("jd-media-1", func(r *hall.Room) error { r.ClearFault(); return nil })
			},
			hold: 60 * time.Second, pause: 30 * time.Second,
		},
		{
			name:  "network path to gy congested: +700 ms from 高邮 only",
			start: func(d *demoCity) error { d.paths["gy"].SetDelay(700 * time.Millisecond); return nil },
			stop:  func(d *demoCity) { d.paths["gy"].SetDelay(0) },
			hold:  60 * time.Second, pause: 30 * time.Second,
		},
		{
			name:   "gateway of yz-hall-1 drops every bidder, every 5 s",
			start:  func(d *demoCity) error { return d.hall.Room("yz-hall-1").SetFault(hall.Fault{Drop: true}) },
			stop:   func(*demoCity) {},
			repeat: 5 * time.Second,
			hold:   15 * time.Second, pause: 45 * time.Second,
		},
		{
			name: "database server by-db-1 down: health checks fail",
			start: func(d *demoCity) error {
				return d.hall.Server("by-db-1").SetHealth(hall.Health{Down: true})
			},
			stop: func(d *demoCity) { d.hall.Server("by-db-1").ClearHealth() },
			hold: 45 * time.Second, pause: 30 * time.Second,
		},
	}
}

func newDemoCmd(logger *slog.Logger) *cobra.Command {
	var (
		listen   string
		duration time.Duration
		perRoom  int
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on a synthetic city while scripted faults come and go",
		Long: `demo runs everything in one process, on loopback, with nothing to install:
a synthetic city's bid-opening hall (configs/demo.yaml: the center and four
sub-centers, their rooms and servers), a schedule of bid openings starting
now, probe agents in two sub-centers (each reaching the hall over its own
network path), the watchdog, and an embedded Redis between them. A drill
script then saturates a media server, congests one sub-center's network
path, makes a gateway drop its bidders and takes a database down, one after
the other; incidents are printed as they open and resolve, with their cause,
SLA class and deadline.

Nothing is persisted: the embedded Redis lives as long as the demo. While it
runs, other commands can reach it at the address it prints.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			if perRoom < 1 {
				return &exitError{code: 3, err: fmt.Errorf("--participants %d: must be at least 1", perRoom)}
			}
			return runDemo(ctx, cmd.OutOrStdout(), logger, demoOptions{listen: listen, perRoom: perRoom, drills: demoDrills()})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:7400", "address of the synthetic hall")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: until interrupted)")
	cmd.Flags().IntVar(&perRoom, "participants", 2, "WebSocket participants per room per probe agent")
	return cmd
}

type demoOptions struct {
	listen  string
	perRoom int
	drills  []drill
	start   time.Duration // before the first drill; default 20 s
}

// demoCity is what the drills act on.
type demoCity struct {
	cfg   *config.Config
	hall  *hall.Hall
	paths map[string]*hall.Path
}

func (d *demoCity) eachRoomOf(server string, fn func(*hall.Room) error) error {
	for _, r := range d.cfg.RoomsUsing(server) {
		if err := fn(d.hall.Room(r.ID)); err != nil {
			return err
		}
	}
	return nil
}

func runDemo(ctx context.Context, out io.Writer, logger *slog.Logger, o demoOptions) error {
	if o.start == 0 {
		o.start = 20 * time.Second
	}
	// The drill's own lines and the incidents say what happens; of the
	// components' logs only errors are shown (a dropout is a warning, and
	// the drills make plenty).
	logger = slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelError})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The hall, on the demo city's rooms and servers.
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return &exitError{code: 3, err: fmt.Errorf("--listen %s: %w (is another bidwatch running? try --listen 127.0.0.1:0)", o.listen, err)}
	}
	cfg := config.DemoCity()
	hallAddr := ln.Addr().String()
	retarget(cfg.Rooms, cfg.Servers, "127.0.0.1:7400", hallAddr)
	hopts := hall.Options{Logger: logger, NoMedia: true}
	hallRooms(&hopts, cfg)
	h, err := hall.New(hopts)
	if err != nil {
		ln.Close()
		return err
	}
	defer h.Close()
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	served := make(chan error, 1)
	wg.Add(1)
	go func() { defer wg.Done(); served <- srv.Serve(ln) }()
	defer func() {
		cancel()
		sctx, c := context.WithTimeout(context.Background(), 3*time.Second)
		defer c()
		srv.Shutdown(sctx)
		wg.Wait()
	}()

	// The embedded Redis between probes and watchdog.
	b, err := bus.Open(ctx, bus.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer b.Close()

	// A schedule: every room opens now.
	dir, err := os.MkdirTemp("", "bidwatch-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	schedule := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(schedule, demoSchedule(cfg, time.Now()), 0o600); err != nil {
		return err
	}

	city := &demoCity{cfg: cfg, hall: h, paths: map[string]*hall.Path{}}
	var agents []*probe.Agent
	for _, loc := range demoLocations {
		p, err := hall.NewPath(hallAddr)
		if err != nil {
			return err
		}
		defer p.Close()
		city.paths[loc] = p
		rooms := append([]config.Room(nil), cfg.Rooms...)
		retarget(rooms, nil, hallAddr, p.Addr())
		a, err := probe.New(probe.Options{
			ID: loc + "@demo", Location: loc, Version: Version, Bus: b,
			Rooms: rooms, Probe: cfg.Probe,
			Participants: map[string]int{"ws": o.perRoom},
			ScheduleFile: schedule, Lead: time.Minute, Tail: time.Minute,
			PatrolInterval: -1, Logger: logger,
		})
		if err != nil {
			return err
		}
		agents = append(agents, a)
	}
	wd, err := watchdog.New(watchdog.Options{Config: cfg, Bus: b, ID: "demo", Logger: logger})
	if err != nil {
		return err
	}
	events := wd.Events(ctx)

	errs := make(chan error, len(agents)+1)
	for _, a := range agents {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- a.Run(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); errs <- wd.Run(ctx) }()

	fmt.Fprintf(out, "bidwatch demo — %s, on loopback; nothing is persisted (Ctrl-C to stop)\n", cfg.City.Name)
	fmt.Fprintf(out, "  hall      http://%s  %d rooms on %d servers; admin API /admin/rooms, /admin/servers\n", hallAddr, len(cfg.Rooms), len(cfg.Servers))
	fmt.Fprintf(out, "  redis     embedded at redis://%s  (in-process, gone when the demo stops)\n", b.Addr())
	fmt.Fprintf(out, "  probes    %s: %d bidders per room each, over their own network path\n", strings.Join(demoLocations, ", "), o.perRoom)
	fmt.Fprintf(out, "  schedule  %d bid openings starting now\n", len(cfg.Rooms))
	fmt.Fprintf(out, "  try       bidwatch incidents list --redis redis://%s\n", b.Addr())
	fmt.Fprintf(out, "            bidwatch check ws://%s/rooms/yz-hall-1/events\n\n", hallAddr)

	drills := o.drills
	next, step, active := time.Now().Add(o.start), 0, false
	var again time.Time // the next repeat of a repeating drill
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "\ndemo stopped")
			return nil
		case err := <-served:
			return fmt.Errorf("hall stopped serving: %w", err)
		case err := <-errs:
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Kind != "updated" {
				fmt.Fprintln(out, "  ● "+incident.EventLine(ev, time.Local))
			}
		case now := <-tick.C:
			if len(drills) == 0 {
				continue
			}
			d := drills[step%len(drills)]
			if active && d.repeat > 0 && !now.Before(again) && now.Before(next) {
				if err := d.start(city); err != nil {
					fmt.Fprintf(out, "  could not repeat the drill: %v\n", err)
				}
				again = now.Add(d.repeat)
			}
			if now.Before(next) {
				continue
			}
			if !active {
				fmt.Fprintf(out, "%s ▶ DRILL %s (for %s)\n", now.Format("15:04:05"), d.name, d.hold)
				if err := d.start(city); err != nil {
					fmt.Fprintf(out, "  could not start the drill: %v\n", err)
				}
				active, next, again = true, now.Add(d.hold), now.Add(d.repeat)
				continue
			}
			d.stop(city)
			fmt.Fprintf(out, "%s ■ DRILL over: %s — the watchdog should resolve it\n", now.Format("15:04:05"), strings.SplitN(d.name, ":", 2)[0])
			active, next, step = false, now.Add(d.pause), step+1
		}
	}
}

// retarget points rooms' and servers' URLs at another host:port.
func retarget(rooms []config.Room, servers []config.Server, from, to string) {
	if from == to {
		return
	}
	for i := range rooms {
		r := &rooms[i]
		r.EventsURL = strings.Replace(r.EventsURL, from, to, 1)
		r.WHEPURL = strings.Replace(r.WHEPURL, from, to, 1)
		r.WHIPURL = strings.Replace(r.WHIPURL, from, to, 1)
	}
	for i := range servers {
		for j := range servers[i].Health {
			hc := &servers[i].Health[j]
			hc.URL = strings.Replace(hc.URL, from, to, 1)
			hc.Address = strings.Replace(hc.Address, from, to, 1)
		}
	}
}

// demoSchedule is a schedule file with one bid opening per room, opening now
// and lasting two hours.
func demoSchedule(cfg *config.Config, now time.Time) []byte {
	var b strings.Builder
	b.WriteString("sessions:\n")
	for i, r := range cfg.Rooms {
		fmt.Fprintf(&b, "  - id: demo-%03d\n    room: %s\n    title: %q\n    opens_at: %s\n    expected_duration: 2h\n",
			i+1, r.ID, r.Name+" 演示项目开标", now.Format(time.RFC3339))
	}
	return []byte(b.String())
}

// minLevel is a handler that lets through records at min or above only.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(as), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
