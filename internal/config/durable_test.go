package config

import (
	"strings"
	"testing"
	"time"
)

func TestDurableDefaults(t *testing.T) {
	c, err := Parse(DemoYAML())
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.MinReplicas != nil || c.Redis.WaitTimeout != time.Second || c.Agent.SpoolFsync != "everysec" {
		t.Errorf("defaults: min_replicas %v, wait_timeout %s, spool_fsync %q", c.Redis.MinReplicas, c.Redis.WaitTimeout, c.Agent.SpoolFsync)
	}
}

func TestDurableKeys(t *testing.T) {
	c, err := Parse(withSections(`
redis:
  url: redis-cluster://127.0.0.1:7000
  prefix: "{sz}:"
  min_replicas: 0
  wait_timeout: 250ms
agent:
  spool_fsync: always
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.MinReplicas == nil || *c.Redis.MinReplicas != 0 || c.Redis.WaitTimeout != 250*time.Millisecond || c.Agent.SpoolFsync != "always" {
		t.Errorf("got min_replicas %v, wait_timeout %s, spool_fsync %q", c.Redis.MinReplicas, c.Redis.WaitTimeout, c.Agent.SpoolFsync)
	}
}

func TestDurableInvalid(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"negative replicas", "redis:\n  min_replicas: -1\n", `redis.min_replicas: must be between 0 and 16, got -1`},
		{"short wait", "redis:\n  wait_timeout: 1ms\n", `redis.wait_timeout: must be between 10ms and 1m, got 1ms`},
		{"fsync", "agent:\n  spool_fsync: sometimes\n", `agent.spool_fsync: unknown policy "sometimes" (want always, everysec or never)`},
		{"cluster prefix", "redis:\n  url: redis-cluster://127.0.0.1:7000\n", `redis.prefix: a Redis Cluster needs a hash-tagged prefix, like "{bidwatch}:" or "bidwatch:{city}:", got "bidwatch:"`},
		{"cluster by addr", "redis:\n  url: redis://127.0.0.1:7000?addr=127.0.0.1:7001\n  prefix: \"bw:\"\n", `redis.prefix: a Redis Cluster needs a hash-tagged prefix`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(withSections(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to contain %s", err, tt.want)
			}
		})
	}
	// A Sentinel URL has addr= too, and needs no hash tag.
	if _, err := Parse(withSections("redis:\n  url: redis-sentinel://127.0.0.1:26379?master_name=m&addr=127.0.0.1:26380\n")); err != nil {
		t.Errorf("sentinel URL: %v", err)
	}
}
