package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/probe"
)

// probeFlags are the flags of `bidwatch probe` that override the config.
type probeFlags struct {
	config, location, redis, prefix, id, schedule, feed, metrics, spool, via string
	participants                                                             map[string]int
}

// newProbeCmd is `bidwatch probe`: the probe agent, and `probe now`.
func newProbeCmd(logger *slog.Logger) *cobra.Command {
	var f probeFlags
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Run a probe agent: probe every scheduled bid opening from this network",
		Long: `probe runs a probe agent (探针) inside one sub-center's network. It joins every
scheduled bid opening of the config's rooms with synthetic participants
(WebSocket and/or WebRTC, agent.participants_per_room), from agent.lead before
the opening to agent.tail after its expected end, patrols every room briefly
between sessions (日常巡检), and publishes every Sample to Redis. While Redis is
away Samples wait in an on-disk spool and are replayed in order, without
duplicates, when it returns.

The schedule comes from schedule.file (YAML, re-read when it changes), the
trading system's feed (schedule.feed_url, polled with ETag) and "probe now"
commands (bidwatch probe now ROOM). Without a Redis URL (--redis or
redis.url) an embedded Redis is used, which nothing else can reach and which
keeps nothing: a try-out only.

Prometheus metrics are served on agent.metrics_listen (/metrics). The agent
heartbeats to Redis (hash bidwatch:probes). SIGINT or SIGTERM stop it
gracefully: participants leave, the spool is flushed (agent.flush_timeout),
what is left stays on disk for the next start.

--via HOST:PORT connects to every room through that address instead of the
host:port in the room's URLs (events, WHEP, WHIP): in a drill, the address
of this location's network path (bidwatch hall --path LOCATION=HOST:PORT).

Exit status: 0 after a clean stop, 1 on a runtime failure, 3 on a usage or
configuration error. docs/probe.md has the details.`,
		Example: `  bidwatch probe --config configs/example-city.yaml --location jd --redis redis://10.0.0.5:6379
  bidwatch probe --config city.yaml --location jd --schedule schedule.yaml --metrics 127.0.0.1:9410
  bidwatch probe --config configs/demo.yaml --location gy --via 127.0.0.1:7402 --redis redis://127.0.0.1:6379
  bidwatch probe now jd-hall-1 --for 10m --config city.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadCityConfig(f.config)
			if err != nil {
				return err
			}
			opts, err := probeOptions(cmd, c, f, logger)
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			b, err := bus.Open(cmd.Context(), opts.bus)
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			defer b.Close()
			opts.Bus = b
			a, err := probe.New(opts.Options)
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			if err := a.Run(cmd.Context()); err != nil {
				return &exitError{code: 1, err: err}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "bidwatch config file: rooms, probe, redis, agent and schedule settings (required)")
	fl.StringVar(&f.location, "location", "", "id of the sub-center whose network this agent runs in (required)")
	fl.StringVar(&f.redis, "redis", "", "Redis URL (overrides redis.url; redis://, rediss://, redis-sentinel://, redis-cluster://)")
	addPrefixFlag(fl, &f.prefix)
	fl.StringVar(&f.id, "id", "", `probe id (default "<location>@<hostname>")`)
	fl.StringVar(&f.schedule, "schedule", "", "YAML schedule of sessions (overrides schedule.file)")
	fl.StringVar(&f.feed, "feed", "", "URL of the trading system's JSON schedule feed (overrides schedule.feed_url)")
	fl.StringVar(&f.metrics, "metrics", "", `address for Prometheus /metrics (overrides agent.metrics_listen; "" for none)`)
	fl.StringVar(&f.spool, "spool", "", "spool directory (overrides agent.spool_dir)")
	fl.StringVar(&f.via, "via", "", "reach every room through this HOST:PORT instead of the one in its URLs (a drill's network path)")
	fl.StringToIntVar(&f.participants, "participants", nil, "participants per room by transport, like ws=2,webrtc=1 (overrides agent.participants_per_room)")
	_ = cmd.MarkFlagRequired("config")
	_ = cmd.MarkFlagRequired("location")
	cmd.AddCommand(newProbeNowCmd(logger))
	return cmd
}

// agentOptions are probe.Options plus the options the bus is opened with.
type agentOptions struct {
	probe.Options
	bus bus.Options
}

// probeOptions maps the config and the flags (which win) to the agent's
// options.
func probeOptions(cmd *cobra.Command, c *config.Config, f probeFlags, logger *slog.Logger) (agentOptions, error) {
	if _, ok := c.SubCenter(f.location); !ok {
		var ids []string
		for _, s := range c.SubCenters {
			ids = append(ids, s.ID)
		}
		return agentOptions{}, fmt.Errorf("--location %q: not a sub-center of %s (want one of %s)", f.location, f.config, strings.Join(ids, ", "))
	}
	a, s := c.Agent, c.Schedule
	changed := cmd.Flags().Changed
	o := agentOptions{bus: busOptions(cmd, c, f.redis, f.prefix)}
	o.bus.Logger = logger
	if changed("schedule") {
		s.File = f.schedule
	}
	if changed("feed") {
		s.FeedURL = f.feed
	}
	if changed("metrics") {
		a.MetricsListen = f.metrics
	}
	if changed("spool") {
		a.SpoolDir = f.spool
	}
	if changed("participants") {
		a.ParticipantsPerRoom = f.participants
	}
	for name := range a.ParticipantsPerRoom {
		if !slices.Contains(config.ParticipantTransports, name) {
			return agentOptions{}, fmt.Errorf("--participants: unknown transport %q (want %s)", name, strings.Join(config.ParticipantTransports, " or "))
		}
	}
	id := f.id
	if id == "" {
		host, _ := os.Hostname()
		id = f.location + "@" + host
	}
	if a.SpoolDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return agentOptions{}, fmt.Errorf("no spool directory: set agent.spool_dir or --spool (%v)", err)
		}
		a.SpoolDir = filepath.Join(dir, "bidwatch", "spool", unsafeChars.ReplaceAllString(id, "_"))
	}
	rooms := c.Rooms
	if changed("via") {
		var err error
		if rooms, err = viaRooms(rooms, f.via); err != nil {
			return agentOptions{}, fmt.Errorf("--via %s: %w", f.via, err)
		}
	}
	var feedHeader http.Header
	if tok := s.FeedToken.Reveal(); tok != "" {
		feedHeader = http.Header{"Authorization": {"Bearer " + tok}}
	}
	o.Options = probe.Options{
		ID: id, Location: f.location, Version: Version,
		Rooms: rooms, Probe: c.Probe,
		Participants: a.ParticipantsPerRoom,
		ScheduleFile: s.File, FeedURL: s.FeedURL, FeedInterval: s.FeedInterval, FeedHeader: feedHeader,
		Lead: noneIfZero(a.Lead), Tail: noneIfZero(a.Tail),
		PatrolInterval: noneIfZero(a.PatrolInterval), PatrolDuration: a.PatrolDuration,
		SpoolDir: a.SpoolDir, SpoolMaxBytes: a.SpoolMaxBytes, SpoolFsync: probe.FsyncPolicy(a.SpoolFsync),
		HeartbeatInterval: a.HeartbeatInterval, MetricsListen: a.MetricsListen, FlushTimeout: a.FlushTimeout,
		Logger: logger,
	}
	return o, nil
}

// viaRooms returns a copy of rooms whose events, WHEP and WHIP URLs point
// at via (host:port) instead of their own host and port: the way a probe
// at one location reaches the hall through that location's network path.
func viaRooms(rooms []config.Room, via string) ([]config.Room, error) {
	host, port, err := net.SplitHostPort(via)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return nil, errors.New("want HOST:PORT, like 127.0.0.1:7402")
	}
	out := append([]config.Room(nil), rooms...)
	for i := range out {
		r := &out[i]
		for _, u := range []*string{&r.EventsURL, &r.WHEPURL, &r.WHIPURL} {
			if *u == "" {
				continue
			}
			pu, err := url.Parse(*u)
			if err != nil {
				return nil, fmt.Errorf("room %s: %w", r.ID, err)
			}
			pu.Host = via
			*u = pu.String()
		}
	}
	return out, nil
}

// unsafeChars are replaced in a probe id used as a directory name.
var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._@-]`)

// noneIfZero maps the config's "0 means none" to probe.Options' "negative
// means none" (where zero means the default).
func noneIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// newProbeNowCmd is `bidwatch probe now ROOM`.
func newProbeNowCmd(logger *slog.Logger) *cobra.Command {
	var (
		file, redisURL, prefix, location, probeID, by string
		dur                                           time.Duration
	)
	cmd := &cobra.Command{
		Use:   "now ROOM",
		Short: "Ask the probe agents to probe a room now, for a while",
		Long: `now sends a "probe this room now" command through Redis (stream
bidwatch:commands). Every running probe agent — or only those at --location,
or only --probe — joins ROOM with its participants at once and stays for
--for. It needs the Redis the agents use (--redis or redis.url in --config);
with --config the room id is checked against the config.`,
		Example: `  bidwatch probe now jd-hall-1 --for 10m --config city.yaml
  bidwatch probe now jd-hall-1 --redis redis://10.0.0.5:6379 --location jd`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			room := args[0]
			var c *config.Config
			if file != "" {
				var err error
				if c, err = loadCityConfig(file); err != nil {
					return err
				}
				if _, ok := c.Room(room); !ok {
					return &exitError{code: 3, err: fmt.Errorf("room %q: not in %s", room, file)}
				}
			}
			bo := busOptions(cmd, c, redisURL, prefix)
			bo.Logger = logger
			if bo.URL == "" {
				return &exitError{code: 3, err: errors.New("no Redis: give --redis URL or a --config with redis.url (an embedded Redis lives inside one process and cannot be reached from here)")}
			}
			if dur <= 0 {
				return &exitError{code: 3, err: fmt.Errorf("--for %s: must be positive", dur)}
			}
			b, err := bus.Open(cmd.Context(), bo)
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			defer b.Close()
			if by == "" {
				by = os.Getenv("USER")
			}
			id, err := b.SendCommand(cmd.Context(), bus.Command{
				Kind: bus.CommandProbeNow, Room: room, For: dur, At: time.Now(),
				Location: location, Probe: probeID, By: by,
			})
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "probe now: %s for %s (command %s)\n", room, dur, id)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&file, "config", "", "bidwatch config file (for redis.url and to check the room)")
	fl.StringVar(&redisURL, "redis", "", "Redis URL the agents use (overrides redis.url)")
	addPrefixFlag(fl, &prefix)
	fl.DurationVar(&dur, "for", 10*time.Minute, "how long to probe")
	fl.StringVar(&location, "location", "", "only agents at this sub-center")
	fl.StringVar(&probeID, "probe", "", "only this probe")
	fl.StringVar(&by, "by", "", "who asks, for the record (default $USER)")
	return cmd
}
