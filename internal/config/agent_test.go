package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// withSections is the demo city with extra top-level YAML appended.
func withSections(extra string) []byte {
	return append(append([]byte{}, DemoYAML()...), "\n"+extra...)
}

func TestAgentDefaults(t *testing.T) {
	c, err := Parse(DemoYAML())
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.URL != "" || c.Redis.Prefix != "bidwatch:" || c.Redis.MaxLen != 1_000_000 {
		t.Errorf("redis defaults: %+v", c.Redis)
	}
	a := c.Agent
	if a.ParticipantsPerRoom["ws"] != 1 || len(a.ParticipantsPerRoom) != 1 || a.Lead != 10*time.Minute || a.Tail != 10*time.Minute ||
		a.PatrolInterval != 15*time.Minute || a.PatrolDuration != time.Minute || a.SpoolMaxBytes != 256<<20 ||
		a.HeartbeatInterval != 5*time.Second || a.MetricsListen != "127.0.0.1:9410" || a.FlushTimeout != 10*time.Second {
		t.Errorf("agent defaults: %+v", a)
	}
	if c.Schedule.FeedInterval != time.Minute {
		t.Errorf("schedule defaults: %+v", c.Schedule)
	}
	if d := Defaults(); d.Agent.Lead != 10*time.Minute || d.Redis.Prefix != "bidwatch:" {
		t.Errorf("Defaults() lacks the agent sections: %+v %+v", d.Agent, d.Redis)
	}
}

func TestAgentSections(t *testing.T) {
	c, err := Parse(withSections(`
redis:
  url: redis://:hunter2@127.0.0.1:6380/1
  prefix: "{city}:"
  max_len: 50000
agent:
  participants_per_room: {ws: 2, webrtc: 1}
  lead: 0s
  tail: 5m
  patrol_interval: 0s
  spool_dir: /var/lib/bidwatch/spool
  spool_max_bytes: 1073741824
  metrics_listen: ""
schedule:
  file: /etc/bidwatch/schedule.yaml
  feed_url: https://trading.example/api/openings
  feed_token: t0ken
  feed_interval: 30s
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.URL.Reveal() != "redis://:hunter2@127.0.0.1:6380/1" || c.Redis.Prefix != "{city}:" || c.Redis.MaxLen != 50000 {
		t.Errorf("redis: %+v", c.Redis)
	}
	a := c.Agent
	// Written zeros stay: no lead, no patrol, no metrics.
	if a.Lead != 0 || a.PatrolInterval != 0 || a.MetricsListen != "" || a.Tail != 5*time.Minute {
		t.Errorf("explicit zeros replaced: %+v", a)
	}
	if a.ParticipantsPerRoom["ws"] != 2 || a.ParticipantsPerRoom["webrtc"] != 1 || a.SpoolDir != "/var/lib/bidwatch/spool" || a.SpoolMaxBytes != 1<<30 {
		t.Errorf("agent: %+v", a)
	}
	s := c.Schedule
	if s.File != "/etc/bidwatch/schedule.yaml" || s.FeedURL != "https://trading.example/api/openings" || s.FeedToken.Reveal() != "t0ken" || s.FeedInterval != 30*time.Second {
		t.Errorf("schedule: %+v", s)
	}
}

func TestAgentSectionsInvalid(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"redis", `
redis:
  url: http://:hunter2@127.0.0.1:6380
  prefix: ""
  max_len: 10
  bogus: 1`, []string{
			`redis.bogus (line`,
			`redis.url: unknown scheme "http" (want redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster or rediss-cluster)`,
			`redis.prefix: required`,
			`redis.max_len: must be at least 1000, got 10`,
		}},
		{"sentinel", "redis: {url: \"redis-sentinel://127.0.0.1:26379\"}", []string{"redis.url: a Sentinel URL needs ?master_name="}},
		{"agent", `
agent:
  participants_per_room: {pigeon: 1, ws: -1}
  lead: -1m
  patrol_interval: 1m
  patrol_duration: 2m
  spool_max_bytes: 100
  heartbeat_interval: 0s
  metrics_listen: "9410"`, []string{
			`agent.participants_per_room.pigeon: unknown transport "pigeon" (want ws or webrtc)`,
			`agent.participants_per_room.ws: must be between 0 and 1000, got -1`,
			`agent.participants_per_room: no participants: set at least one transport above 0 (like ws: 1)`,
			`agent.lead: must not be negative, got -1m0s`,
			`agent.patrol_duration: must not be longer than patrol_interval (1m0s), got 2m0s`,
			`agent.spool_max_bytes: must be at least 1048576 (1 MiB), got 100`,
			`agent.heartbeat_interval: must be positive, got 0s`,
			`agent.metrics_listen: invalid address "9410" (want host:port, like 127.0.0.1:9410)`,
		}},
		{"type", "agent: {lead: soon, participants_per_room: [ws]}", []string{
			`agent.lead (line`, `cannot parse "soon" as a duration`, `agent.participants_per_room (line`,
		}},
		{"schedule", "schedule: {feed_url: \"ftp://trading.example/x\", feed_interval: 10ms}", []string{
			`schedule.feed_url: `, `schedule.feed_interval: must be at least 1s, got 10ms`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(withSections(tt.yaml))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the Redis password:\n%v", err)
			}
		})
	}
}

func TestRedisURLIsSecret(t *testing.T) {
	c := Defaults()
	c.Redis.URL = "redis://:hunter2@10.0.0.5:6379"
	c.Schedule.FeedToken = "t0ken"
	for _, s := range []string{fmt.Sprintf("%v %+v %#v", c.Redis, c.Redis, c.Redis), fmt.Sprint(c.Schedule)} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "t0ken") {
			t.Errorf("a secret prints: %s", s)
		}
	}
}
