package watchdog

import "time"

// Group is the consumer group every watchdog replica reads the samples
// stream with.
const Group = "watchdog"

// Key names under the bus prefix that the watchdog owns; internal/bus owns
// the ones it shares with the probes (samples, probes).
const (
	// KeyAggs is the stream of aggregates the replicas hand the leader:
	// entries with a field "aggs" holding a JSON array of detect.Agg.
	KeyAggs = "watchdog:aggs"
	// KeyLeader holds the leader's lease: its replica id, with a TTL.
	KeyLeader = "watchdog:leader"
	// KeyReplicas is a hash of replica statuses, field = replica id.
	KeyReplicas = "watchdog:replicas"
	// KeyHealth is a hash of the latest health reading per check, field =
	// "server/check".
	KeyHealth = "health"
	// KeyProbeHealth is a hash of probe problems (probe-local faults, silent
	// probes), field = probe id.
	KeyProbeHealth = "probe-health"
	// KeyBook is a hash of the planner's memory, field = cause key, value
	// a JSON plan.Track: a new leader carries on from it.
	KeyBook = "watchdog:book"
)

// fieldAggs is the aggregates stream's field.
const fieldAggs = "aggs"

// aggsKeep is how long the aggregates stream keeps entries (XADD MINID ~):
// far more than a new leader replays.
const aggsKeep = 10 * time.Minute
