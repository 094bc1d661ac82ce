package probe

import (
	"context"
	"sort"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
)

// DefaultHeartbeatInterval is how often the agent writes its status.
const DefaultHeartbeatInterval = 5 * time.Second

// What the agent tells the console of its schedule at every heartbeat: the
// sessions that end after scheduleBehind ago and open before scheduleAhead
// from now, at most maxPublished of them, kept for scheduleTTLBeats
// heartbeats so a dead probe's claims expire.
const (
	scheduleAhead    = 24 * time.Hour
	scheduleBehind   = 12 * time.Hour
	maxPublished     = 300
	scheduleTTLBeats = 3
)

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

// published returns the sessions the agent tells the console of at now:
// those in its rooms that end after scheduleBehind ago and open before
// scheduleAhead from now, sorted by opening. Past maxPublished, the sessions
// not yet ended are kept first, soonest first, then the most recently ended.
// It is a pure function of its arguments.
func published(now time.Time, sessions []Session, rooms map[string]config.Room) []bus.ScheduledSession {
	end := func(s Session) time.Time { return s.OpensAt.Add(s.ExpectedDuration) }
	var ahead, ended []Session
	for _, s := range sessions {
		if _, ok := rooms[s.Room]; !ok || !end(s).After(now.Add(-scheduleBehind)) || !s.OpensAt.Before(now.Add(scheduleAhead)) {
			continue
		}
		if end(s).After(now) {
			ahead = append(ahead, s)
		} else {
			ended = append(ended, s)
		}
	}
	sort.SliceStable(ahead, func(i, j int) bool { return ahead[i].OpensAt.Before(ahead[j].OpensAt) })
	sort.SliceStable(ended, func(i, j int) bool { return end(ended[i]).After(end(ended[j])) })
	ahead = ahead[:min(len(ahead), maxPublished)]
	keep := append(ahead, ended[:min(len(ended), maxPublished-len(ahead))]...)
	sort.SliceStable(keep, func(i, j int) bool { return keep[i].OpensAt.Before(keep[j].OpensAt) })
	out := make([]bus.ScheduledSession, len(keep))
	for i, s := range keep {
		out[i] = bus.ScheduledSession{
			ID: s.ID, Room: s.Room, Title: s.Title, OpensAt: s.OpensAt,
			DurationMS: s.ExpectedDuration.Milliseconds(), Cancelled: s.Cancelled, AdHoc: s.AdHoc,
		}
	}
	return out
}

// heartbeat writes the agent's status, and the sessions it covers, every
// interval until ctx is done. A heartbeat that fails is skipped: the
// publisher already reports Redis down.
func (a *Agent) heartbeat(ctx context.Context) {
	t := time.NewTicker(a.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := a.bus.PutProbeStatus(hctx, a.status(bus.ProbeRunning)); err != nil && ctx.Err() == nil {
			a.logger.Debug("heartbeat not written", "err", err)
		}
		now := a.now()
		sessions := published(now, a.store.sessions(now), a.rooms)
		if err := a.bus.PutSchedule(hctx, a.opts.ID, sessions, scheduleTTLBeats*a.opts.HeartbeatInterval); err != nil && ctx.Err() == nil {
			a.logger.Debug("schedule not written", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
