package config

import (
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Redis says where bidwatch's shared state and bus live. It is read by every
// long-running command (probe, watchdog, console).
type Redis struct {
	// URL selects the Redis: redis:// or rediss:// (one node),
	// redis-sentinel://…?master_name=M (Sentinel), redis-cluster:// or
	// redis://…?addr=…&addr=… (Cluster); see docs/wire-format.md. Empty
	// starts an embedded in-process Redis that keeps nothing: a try-out, not
	// production. It may hold a password, so it never prints.
	URL Secret `yaml:"url"`
	// Prefix starts every key; with a Cluster it must hold a hash tag,
	// like "{bidwatch}:".
	Prefix string `yaml:"prefix"`
	// MaxLen bounds the samples stream (XADD MAXLEN ~).
	MaxLen int64 `yaml:"max_len"`
	// MinReplicas is how many replicas must confirm (WAIT) a published
	// batch, an incident or an outbox write before it counts as done;
	// absent means 1 once the master reports a replica, else 0 (see
	// durable.go).
	MinReplicas *int `yaml:"min_replicas"`
	// WaitTimeout bounds each WAIT; an unconfirmed write is sent again.
	WaitTimeout time.Duration `yaml:"wait_timeout"`
}

// Agent configures the probe agent (`bidwatch probe`).
type Agent struct {
	// ParticipantsPerRoom is how many synthetic participants of each
	// transport ([ParticipantTransports]) join each probed room.
	ParticipantsPerRoom map[string]int `yaml:"participants_per_room"`
	// Lead is how long before a session opens probing starts; Tail how long
	// after its expected end it goes on. 0 means none.
	Lead time.Duration `yaml:"lead"`
	Tail time.Duration `yaml:"tail"`
	// PatrolInterval is how often each room is patrolled between sessions
	// (日常巡检), for PatrolDuration; 0 turns patrol off.
	PatrolInterval time.Duration `yaml:"patrol_interval"`
	PatrolDuration time.Duration `yaml:"patrol_duration"`
	// SpoolDir holds the on-disk spool Samples wait in while Redis is away;
	// empty means a directory per probe id under the user's cache directory.
	SpoolDir string `yaml:"spool_dir"`
	// SpoolMaxBytes bounds the spool; beyond it the oldest Samples are
	// dropped, and counted.
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
	// SpoolFsync is when the spool fsyncs what it wrote ahead: always,
	// everysec or never (SpoolFsyncPolicies); every Sample is written as
	// it is measured either way.
	SpoolFsync string `yaml:"spool_fsync"`
	// HeartbeatInterval is how often the agent writes its status to Redis.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// MetricsListen is where Prometheus /metrics is served; empty serves none.
	MetricsListen string `yaml:"metrics_listen"`
	// FlushTimeout bounds how long a shutdown spends publishing what is
	// spooled; the rest stays on disk for the next start.
	FlushTimeout time.Duration `yaml:"flush_timeout"`
}

// Schedule says where the probe agent learns of bid openings.
type Schedule struct {
	// File is a YAML file of sessions (configs/schedule-example.yaml),
	// re-read when it changes.
	File string `yaml:"file"`
	// FeedURL is the trading system's JSON schedule feed (http or https),
	// polled every FeedInterval with ETag / If-None-Match; FeedToken, when
	// set, is sent as "Authorization: Bearer <token>".
	FeedURL      string        `yaml:"feed_url"`
	FeedToken    Secret        `yaml:"feed_token"`
	FeedInterval time.Duration `yaml:"feed_interval"`
}

// ParticipantTransports are the transports agent.participants_per_room may
// name; the probe package's registry has one entry for each (a test there
// checks the two agree).
var ParticipantTransports = []string{"ws", "webrtc"}

// redisSchemes are the URL schemes redis.url may use.
var redisSchemes = []string{"redis", "rediss", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster"}

// DefaultRedis returns the Redis settings used for every key not written.
func DefaultRedis() Redis {
	return Redis{Prefix: "bidwatch:", MaxLen: 1_000_000, WaitTimeout: time.Second}
}

// DefaultAgent returns the probe agent settings used for every key not written.
func DefaultAgent() Agent {
	return Agent{
		ParticipantsPerRoom: map[string]int{"ws": 1},
		Lead:                10 * time.Minute,
		Tail:                10 * time.Minute,
		PatrolInterval:      15 * time.Minute,
		PatrolDuration:      60 * time.Second,
		SpoolMaxBytes:       256 << 20,
		SpoolFsync:          "everysec",
		HeartbeatInterval:   5 * time.Second,
		MetricsListen:       "127.0.0.1:9410",
		FlushTimeout:        10 * time.Second,
	}
}

// DefaultSchedule returns the schedule settings used for every key not written.
func DefaultSchedule() Schedule {
	return Schedule{FeedInterval: time.Minute}
}

// setAgentDefaults fills the redis, agent and schedule sections before the
// YAML is decoded.
func (c *Config) setAgentDefaults() {
	c.Redis, c.Agent, c.Schedule = DefaultRedis(), DefaultAgent(), DefaultSchedule()
}

// validateAgent checks the redis, agent and schedule sections.
func (c *Config) validateAgent(errs *problems) {
	r := &c.Redis
	if raw := r.URL.Reveal(); raw != "" {
		// The URL may hold a password: name the problem, never the value.
		switch u, err := url.Parse(raw); {
		case err != nil:
			errs.add("redis.url", "not a URL")
		case !slices.Contains(redisSchemes, u.Scheme):
			errs.add("redis.url", "unknown scheme %s (want %s)", quote(u.Scheme), oneOf(redisSchemes...))
		case strings.HasSuffix(u.Scheme, "-sentinel") && u.Query().Get("master_name") == "":
			errs.add("redis.url", "a Sentinel URL needs ?master_name=")
		}
	}
	if r.Prefix == "" {
		errs.add("redis.prefix", "required (the default is \"bidwatch:\")")
	}
	if r.MaxLen < 1000 {
		errs.add("redis.max_len", "must be at least 1000, got %d", r.MaxLen)
	}

	a := &c.Agent
	some := false
	for _, name := range slices.Sorted(maps.Keys(a.ParticipantsPerRoom)) {
		n := a.ParticipantsPerRoom[name]
		path := joinPath("agent.participants_per_room", name)
		switch {
		case !slices.Contains(ParticipantTransports, name):
			errs.add(path, "unknown transport %s (want %s)", quote(name), oneOf(ParticipantTransports...))
		case n < 0 || n > 1000:
			errs.add(path, "must be between 0 and 1000, got %d", n)
		case n > 0:
			some = true
		}
	}
	if !some {
		errs.add("agent.participants_per_room", "no participants: set at least one transport above 0 (like ws: 1)")
	}
	notNegative(errs, "agent.lead", a.Lead)
	notNegative(errs, "agent.tail", a.Tail)
	notNegative(errs, "agent.patrol_interval", a.PatrolInterval)
	if a.PatrolInterval > 0 {
		positive(errs, "agent.patrol_duration", a.PatrolDuration)
		if a.PatrolDuration > a.PatrolInterval {
			errs.add("agent.patrol_duration", "must not be longer than patrol_interval (%s), got %s", a.PatrolInterval, a.PatrolDuration)
		}
	}
	if a.SpoolMaxBytes < 1<<20 {
		errs.add("agent.spool_max_bytes", "must be at least 1048576 (1 MiB), got %d", a.SpoolMaxBytes)
	}
	positive(errs, "agent.heartbeat_interval", a.HeartbeatInterval)
	positive(errs, "agent.flush_timeout", a.FlushTimeout)
	if a.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(a.MetricsListen); err != nil {
			errs.add("agent.metrics_listen", "invalid address %s (want host:port, like 127.0.0.1:9410)", quote(a.MetricsListen))
		}
	}

	c.validateDurable(errs)

	s := &c.Schedule
	if s.FeedURL != "" {
		checkURL(errs, "schedule.feed_url", s.FeedURL, "http", "https")
		if s.FeedInterval < time.Second {
			errs.add("schedule.feed_interval", "must be at least 1s, got %s", s.FeedInterval)
		}
	}
}

func notNegative(errs *problems, path string, d time.Duration) {
	if d < 0 {
		errs.add(path, "must not be negative, got %s", d)
	}
}
