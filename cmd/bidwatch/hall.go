package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/synthetic/hall/drill"
	"github.com/bidwatch/bidwatch/watchdog/drills"
)

// newHallCmd is `bidwatch hall`: a synthetic bid-opening hall to drill against.
func newHallCmd(logger *slog.Logger) *cobra.Command {
	var (
		listen  string
		period  time.Duration
		token   string
		file    string
		noMedia bool
		paths   []string
		drillF  string
		redis   string
		prefix  string
	)
	cmd := &cobra.Command{
		Use:   "hall",
		Short: "Serve a synthetic bid-opening hall with run-time fault injection",
		Long: `hall serves a synthetic bid-opening hall (不见面开标大厅): rooms with a live
WebSocket event stream and live video over WebRTC (WHEP; coordination rooms
also take WHIP), the health and Prometheus metrics of the servers
behind them, and an admin API to inject faults while it runs — latency,
jitter, event loss, stalls, dropped connections, refused connections,
silent death, and servers pushed to high load or marked down.

Use it for tests, demos, benchmarks and emergency drills (应急演练).
The protocol and the admin API are in docs/hall-protocol.md.

Without --config it hosts room-1 … room-4 on one server "hall"; with
--config it hosts the config's rooms on its servers, so a probe and a
watchdog using the same config can be drilled end to end.

--path LOCATION=HOST:PORT (repeatable) serves a network path from that
location: a relay to the hall that the admin API can delay or cut
(/admin/paths/{location}). A probe agent started with --via HOST:PORT
reaches the hall through it, so one sub-center can see the hall slow
while the others see it fine.

--drill FILE plays a drill script (应急演练) against the hall it serves:
faults that come and go on a timeline, each drill printed as it starts and
stops (configs/drill-demo.yaml shows the format; --drill demo plays that
one, for --config configs/demo.yaml with --path yz=… --path gy=…). The hall
says when the script is over and goes on serving.

With a Redis — --redis URL, or redis.url in --config — the drill is
recorded there (docs/drills.md): each drill's faults, the places they
touch, and when they were set and cleared, so "bidwatch drills report"
can score the watchdog's response against the incidents it raised.`,
		Example: `  bidwatch hall
  bidwatch hall --listen 127.0.0.1:7400 --config configs/demo.yaml
  bidwatch hall --config configs/demo.yaml --path yz=127.0.0.1:7401 --path gy=127.0.0.1:7402
  bidwatch hall --config city.yaml --drill drill.yaml --redis redis://127.0.0.1:6379
  curl -X POST -d '{"delay_ms":700}' http://127.0.0.1:7400/admin/paths/gy
  curl -X POST -d '{"latency_ms":400,"jitter_ms":100}' http://127.0.0.1:7400/admin/rooms/room-1/fault`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := hall.Options{Period: period, Token: token, NoMedia: noMedia, Logger: logger}
			run := hallRun{listen: listen}
			var city *config.Config
			if file != "" {
				c, err := config.Load(file)
				switch {
				case errors.Is(err, config.ErrInvalid):
					return &exitError{code: 3, err: fmt.Errorf("--config %s:\n%w", file, err)}
				case err != nil:
					return &exitError{code: 2, err: err}
				}
				hallRooms(&opts, c)
				city = c
				for _, sc := range c.SubCenters {
					run.subCenters = append(run.subCenters, sc.ID)
				}
			}
			if drillF != "" {
				s, err := loadDrill(drillF)
				if err != nil {
					return err
				}
				run.drill, run.drillFile = s, drillF
				rec, closeRec, err := drillRecorder(cmd, city, redis, prefix, "hall "+listen, logger)
				if err != nil {
					return err
				}
				defer closeRec()
				run.recorder = rec
			}
			if period <= 0 {
				return &exitError{code: 3, err: fmt.Errorf("--period %s: must be positive", period)}
			}
			pf, err := parsePathFlags(paths)
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			run.opts, run.paths = opts, pf
			return runHall(cmd.Context(), cmd.OutOrStdout(), run)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:7400", "address to serve the hall on")
	cmd.Flags().DurationVar(&period, "period", hall.DefaultPeriod, "time between two events of a room")
	cmd.Flags().StringVar(&token, "token", "", `require "Authorization: Bearer TOKEN" on the event streams`)
	cmd.Flags().StringVar(&file, "config", "", "host the rooms and servers of this bidwatch config file")
	cmd.Flags().BoolVar(&noMedia, "no-media", false, "serve no WebRTC media (WHEP/WHIP); media is served on 127.0.0.1 only")
	cmd.Flags().StringArrayVar(&paths, "path", nil, "serve a network path from a location, LOCATION=HOST:PORT (port 0: a free one); repeatable")
	cmd.Flags().StringVar(&drillF, "drill", "", `play this drill script against the hall ("demo": the demo's, configs/drill-demo.yaml)`)
	cmd.Flags().StringVar(&redis, "redis", "", "record the --drill in this Redis (overrides redis.url of --config)")
	cmd.Flags().StringVar(&prefix, "prefix", "", `key prefix of the drill record (overrides redis.prefix; default "bidwatch:")`)
	return cmd
}

// drillRecorder opens the Redis a drill is recorded in: --redis, or
// redis.url of the config; nil (and nothing to close) when neither is set.
func drillRecorder(cmd *cobra.Command, city *config.Config, redisURL, prefix, host string, logger *slog.Logger) (*drills.Recorder, func(), error) {
	url, pfx := redisURL, bus.DefaultPrefix
	if city != nil {
		if url == "" {
			url = city.Redis.URL.Reveal()
		}
		if city.Redis.Prefix != "" {
			pfx = city.Redis.Prefix
		}
	}
	if cmd.Flags().Changed("prefix") {
		pfx = prefix
	}
	if url == "" {
		return nil, func() {}, nil
	}
	b, err := bus.Open(cmd.Context(), bus.Options{URL: url, Prefix: pfx, Logger: slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelWarn})})
	if err != nil {
		return nil, nil, &exitError{code: 3, err: fmt.Errorf("drill record: %w", err)}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		_ = b.Close()
		return nil, nil, &exitError{code: 2, err: fmt.Errorf("drill record: %w (leave out --redis to play the drill unrecorded)", err)}
	}
	return drills.NewRecorder(drills.NewStore(b.Client(), b.Prefix()), city, host, logger), func() { _ = b.Close() }, nil
}

// loadDrill reads a drill script: a file, or "demo" for the embedded one.
func loadDrill(file string) (*drill.Script, error) {
	if file == "demo" {
		return drill.Demo()
	}
	s, err := drill.Load(file)
	switch {
	case errors.Is(err, drill.ErrInvalid):
		return nil, &exitError{code: 3, err: fmt.Errorf("--drill %s:\n%w", file, err)}
	case err != nil:
		return nil, &exitError{code: 2, err: err}
	}
	return s, nil
}

// runDrill plays a drill script against target, printing each drill as it
// starts and stops and the end of the script, and recording the run when
// rec is set (the file names the script in the record).
func runDrill(ctx context.Context, out io.Writer, target drill.Target, s *drill.Script, file string, rec *drills.Recorder, logger *slog.Logger) error {
	var r *drills.Recording
	if rec != nil {
		var err error
		if r, err = rec.Begin(ctx, s, file, time.Now()); err != nil {
			fmt.Fprintf(out, "drill not recorded: %v\n", err)
		} else {
			fmt.Fprintf(out, "drill run %s recorded: bidwatch drills report %s\n", r.Run().ID, r.Run().ID)
			defer func() { r.End(time.Now()) }()
		}
	}
	return drill.Run(ctx, target, s, drill.Options{
		Logger: logger,
		OnEvent: func(e drill.Event) {
			if r != nil {
				r.OnEvent(e)
			}
			if line := e.Line(); line != "" {
				fmt.Fprintln(out, line)
			}
		},
	})
}

// lockedWriter lets goroutines print whole lines to one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// pathFlag is one --path LOCATION=HOST:PORT.
type pathFlag struct{ location, listen string }

// parsePathFlags splits the --path flags; the hall checks the locations.
func parsePathFlags(flags []string) ([]pathFlag, error) {
	var out []pathFlag
	for _, f := range flags {
		loc, listen, ok := strings.Cut(f, "=")
		if !ok || listen == "" {
			return nil, fmt.Errorf("--path %s: want LOCATION=HOST:PORT, like gy=127.0.0.1:7402", f)
		}
		if _, _, err := net.SplitHostPort(listen); err != nil {
			return nil, fmt.Errorf("--path %s: %q is not HOST:PORT", f, listen)
		}
		out = append(out, pathFlag{location: loc, listen: listen})
	}
	return out, nil
}

// hallRooms sets the hall's rooms and servers from a bidwatch config.
func hallRooms(opts *hall.Options, c *config.Config) {
	for _, s := range c.Servers {
		opts.Servers = append(opts.Servers, s.ID)
		if s.Role != "" {
			if opts.Roles == nil {
				opts.Roles = map[string]string{}
			}
			opts.Roles[s.ID] = string(s.Role)
		}
	}
	for _, r := range c.Rooms {
		opts.Rooms = append(opts.Rooms, hall.RoomSpec{ID: r.ID, Kind: string(r.Kind), Servers: r.Servers, VideoCodec: string(r.VideoCodec)})
	}
}

// hallRun is what `bidwatch hall` serves, and the drill it plays.
type hallRun struct {
	listen     string
	opts       hall.Options
	paths      []pathFlag
	drill      *drill.Script // nil: none
	drillFile  string
	recorder   *drills.Recorder // nil: the drill is not recorded
	subCenters []string         // the config's, to check the drill's places
}

// runHall serves the hall until ctx ends, then shuts it down cleanly.
func runHall(ctx context.Context, stdout io.Writer, r hallRun) error {
	out := &lockedWriter{w: stdout}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h, err := hall.New(r.opts)
	if err != nil {
		return &exitError{code: 3, err: err}
	}
	defer h.Close()
	ln, err := net.Listen("tcp", r.listen)
	if err != nil {
		return &exitError{code: 3, err: fmt.Errorf("--listen %s: %w", r.listen, err)}
	}
	for _, p := range r.paths {
		if _, err := h.AddPath(p.location, p.listen, ln.Addr().String()); err != nil {
			ln.Close()
			return &exitError{code: 3, err: fmt.Errorf("--path %s=%s: %w", p.location, p.listen, err)}
		}
	}
	target := drill.HallTarget{Hall: h}
	if r.drill != nil {
		top, err := target.Topology(ctx)
		if err != nil {
			ln.Close()
			return &exitError{code: 1, err: fmt.Errorf("drill: %w", err)}
		}
		top.SubCenters = r.subCenters
		if err := r.drill.Check(top); err != nil {
			ln.Close()
			return &exitError{code: 3, err: fmt.Errorf("--drill %s does not fit this hall:\n%w", r.drillFile, err)}
		}
	}
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	printHall(out, ln.Addr().String(), h, r.opts.Token != "")

	drilled := make(chan error, 1)
	if r.drill != nil {
		fmt.Fprintf(out, "drill %s: %d drills, %s in all, the first in %s\n", r.drillFile, len(r.drill.Drills), r.drill.Length(), r.drill.Start)
		go func() { drilled <- runDrill(ctx, out, target, r.drill, r.drillFile, r.recorder, r.opts.Logger) }()
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case err := <-served:
			cancel()
			if r.drill != nil {
				<-drilled
			}
			return &exitError{code: 2, err: fmt.Errorf("serve %s: %w", r.listen, err)}
		case err := <-drilled:
			r.drill = nil // over; the hall goes on serving
			if err != nil && ctx.Err() == nil {
				fmt.Fprintf(out, "drill %s stopped: %v\n", r.drillFile, err)
			}
		}
	}
	if r.drill != nil {
		<-drilled // its faults are cleared
	}
	fmt.Fprintln(out, "hall: shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	// Close first: hijacked WebSocket connections are not the http.Server's
	// to wait for, and Close sends them 1001 going away.
	_ = h.Close()
	if err := srv.Shutdown(sctx); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("shut down: %w", err)}
	}
	<-served
	return nil
}

// printHall prints where everything is.
func printHall(out io.Writer, addr string, h *hall.Hall, token bool) {
	base := "http://" + addr
	fmt.Fprintf(out, "bidwatch hall on %s (one event every %s; Ctrl-C to stop)\n", base, h.Period())
	if token {
		fmt.Fprintln(out, "  event streams need: Authorization: Bearer <token>")
	}
	fmt.Fprintln(out, "rooms:")
	for _, r := range h.Rooms() {
		fmt.Fprintf(out, "  %-20s %-18s ws://%s/rooms/%s/events\n", r.ID(), r.Kind(), addr, r.ID())
		if h.Media() != nil {
			fmt.Fprintf(out, "  %-20s %-18s WHEP %s/rooms/%s/whep\n", "", "", base, r.ID())
			if r.Kind() == hall.KindCoordinationRoom {
				fmt.Fprintf(out, "  %-20s %-18s WHIP %s/rooms/%s/whip\n", "", "", base, r.ID())
			}
		}
	}
	fmt.Fprintf(out, "servers: health %s/servers/{id}/healthz, metrics %s/servers/{id}/metrics\n", base, base)
	for i, s := range h.Servers() {
		note := ""
		if i == 0 {
			note = "  (default: also /healthz and /metrics)"
		}
		fmt.Fprintf(out, "  %-20s hosts %s%s\n", s.ID(), strings.Join(s.Rooms(), ", "), note)
	}
	if paths := h.Paths(); len(paths) > 0 {
		fmt.Fprintln(out, "network paths: agents there use bidwatch probe --via ADDR")
		for _, p := range paths {
			fmt.Fprintf(out, "  %-20s %s\n", p.Location(), p.Addr())
		}
	}
	fmt.Fprintln(out, "admin API (docs/hall-protocol.md):")
	fmt.Fprintf(out, "  rooms and faults     %s/admin/rooms   %s/admin/rooms/{room}/fault   %s/admin/faults\n", base, base, base)
	fmt.Fprintf(out, "  servers and health   %s/admin/servers %s/admin/servers/{id}/health\n", base, base)
	fmt.Fprintf(out, "  network paths        %s/admin/paths   %s/admin/paths/{location}\n", base, base)
}
