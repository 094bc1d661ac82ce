package probe

import (
	"context"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
)

// DefaultHeartbeatInterval is how often the agent writes its status.
const DefaultHeartbeatInterval = 5 * time.Second

// status is the agent's heartbeat now.
func (a *Agent) status(state string) bus.ProbeStatus {
	rooms, participants := a.probing()
	return bus.ProbeStatus{
		ID:            a.opts.ID,
		Location:      a.opts.Location,
		Version:       a.opts.Version,
		Host:          a.host,
		State:         state,
		Rooms:         rooms,
		Participants:  participants,
		StartedAt:     a.started,
		LastSeen:      a.now(),
		HeartbeatMS:   a.opts.HeartbeatInterval.Milliseconds(),
		SpoolDepth:    a.spool.Depth(),
		SpoolDropped:  a.spool.Dropped(),
		SamplesSent:   a.pub.sent.Load(),
		PublishErrors: a.pub.errs.Load(),
	}
}

// heartbeat writes the agent's status every interval until ctx is done. A
// heartbeat that fails is skipped: the publisher already reports Redis down.
func (a *Agent) heartbeat(ctx context.Context) {
	t := time.NewTicker(a.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := a.bus.PutProbeStatus(hctx, a.status(bus.ProbeRunning)); err != nil && ctx.Err() == nil {
			a.logger.Debug("heartbeat not written", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
