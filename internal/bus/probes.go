package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Probe agent states in ProbeStatus.State.
const (
	ProbeRunning = "running"
	ProbeStopped = "stopped"
)

// ProbeStatus is a probe agent's heartbeat, kept in the hash KeyProbes under
// its id. A probe whose LastSeen is older than a few heartbeat intervals and
// whose State is not "stopped" has gone silent: a probe problem, not a room
// problem.
type ProbeStatus struct {
	ID       string `json:"id"`
	Location string `json:"location"`
	Version  string `json:"version,omitempty"`
	Host     string `json:"host,omitempty"`
	// State is "running", or "stopped" after a clean shutdown.
	State string `json:"state"`
	// Rooms the agent is probing right now, sorted.
	Rooms []string `json:"rooms"`
	// Participants running right now.
	Participants int `json:"participants"`
	// StartedAt is when the agent started; LastSeen when it wrote this.
	StartedAt time.Time `json:"started_at"`
	LastSeen  time.Time `json:"last_seen"`
	// HeartbeatMS is the agent's heartbeat interval, so a reader can tell late
	// from silent.
	HeartbeatMS int64 `json:"heartbeat_ms"`
	// SpoolDepth is how many Samples wait in the agent's spool.
	SpoolDepth int64 `json:"spool_depth"`
	// SpoolDropped counts Samples the agent dropped, since it started,
	// because its spool was full: a measurement gap, reported.
	SpoolDropped int64 `json:"spool_dropped"`
	// SamplesSent counts Samples published since the agent started.
	SamplesSent int64 `json:"samples_sent"`
	// PublishErrors counts failed publish attempts since the agent started.
	PublishErrors int64 `json:"publish_errors"`
}

// PutProbeStatus writes a probe's heartbeat.
func (b *Bus) PutProbeStatus(ctx context.Context, s ProbeStatus) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode probe status: %w", err)
	}
	if err := b.rdb.HSet(ctx, b.Key(KeyProbes), s.ID, data).Err(); err != nil {
		return fmt.Errorf("write probe status %s: %w", s.ID, err)
	}
	return nil
}

// ProbeStatuses reads every probe's last heartbeat, sorted by id. Entries
// that do not decode are skipped and logged.
func (b *Bus) ProbeStatuses(ctx context.Context) ([]ProbeStatus, error) {
	m, err := b.rdb.HGetAll(ctx, b.Key(KeyProbes)).Result()
	if err != nil {
		return nil, fmt.Errorf("read probe statuses: %w", err)
	}
	out := make([]ProbeStatus, 0, len(m))
	for id, v := range m {
		var s ProbeStatus
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			b.logger.Warn("skipping bad probe status", "probe", id, "err", err)
			continue
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
