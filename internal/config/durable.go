package config

import (
	"slices"
	"strings"
	"time"
)

// SpoolFsyncPolicies are the values agent.spool_fsync may take (the probe
// package's FsyncPolicies; a test there checks the two agree).
var SpoolFsyncPolicies = []string{"always", "everysec", "never"}

// maxMinReplicas bounds redis.min_replicas: more is a typo.
const maxMinReplicas = 16

// validateDurable checks the keys that decide what a failover or a crash
// may cost: redis.min_replicas, redis.wait_timeout, agent.spool_fsync.
func (c *Config) validateDurable(errs *problems) {
	r := &c.Redis
	if n := r.MinReplicas; n != nil && (*n < 0 || *n > maxMinReplicas) {
		errs.add("redis.min_replicas", "must be between 0 and %d, got %d (leave it out for: 1 when the master has a replica)", maxMinReplicas, *n)
	}
	if r.WaitTimeout < 10*time.Millisecond || r.WaitTimeout > time.Minute {
		errs.add("redis.wait_timeout", "must be between 10ms and 1m, got %s", r.WaitTimeout)
	}
	if p := c.Agent.SpoolFsync; !slices.Contains(SpoolFsyncPolicies, p) {
		errs.add("agent.spool_fsync", "unknown policy %s (want %s)", quote(p), oneOf(SpoolFsyncPolicies...))
	}
	if u := strings.ToLower(r.URL.Reveal()); strings.HasPrefix(u, "redis-cluster") || strings.HasPrefix(u, "rediss-cluster") || strings.Contains(u, "addr=") && !strings.Contains(u, "master_name=") {
		if !hashTagged(r.Prefix) {
			errs.add("redis.prefix", "a Redis Cluster needs a hash-tagged prefix, like \"{bidwatch}:\" or \"bidwatch:{city}:\", got %s", quote(r.Prefix))
		}
	}
}

// hashTagged reports whether every key under prefix hashes to one slot.
func hashTagged(prefix string) bool {
	i := strings.IndexByte(prefix, '{')
	return i >= 0 && strings.IndexByte(prefix[i+1:], '}') > 0
}
