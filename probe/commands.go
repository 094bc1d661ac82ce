package probe

import (
	"context"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
)

// commandLookback is how far back an agent looks at start for "probe now"
// commands still in force.
const commandLookback = 24 * time.Hour

// commands follows the commands stream until ctx is done, turning "probe
// now" commands for this agent into ad-hoc sessions.
func (a *Agent) commands(ctx context.Context) {
	after := ""
	for ctx.Err() == nil {
		var cmds []bus.Command
		var err error
		if after == "" {
			cmds, after, err = a.bus.CommandsSince(ctx, a.now().Add(-commandLookback))
			if err != nil {
				after = ""
			}
		} else {
			cmds, after, err = a.bus.ReadCommands(ctx, after, 500*time.Millisecond)
		}
		if err != nil {
			if ctx.Err() == nil {
				a.logger.Debug("commands not read", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, c := range cmds {
			a.command(c)
		}
	}
}

// command acts on one command, if it is for this agent and still in force.
func (a *Agent) command(c bus.Command) {
	if c.Kind != bus.CommandProbeNow ||
		(c.Location != "" && c.Location != a.opts.Location) ||
		(c.Probe != "" && c.Probe != a.opts.ID) {
		return
	}
	now := a.now()
	end := c.At.Add(c.For)
	if !end.After(now) {
		return
	}
	if _, ok := a.rooms[c.Room]; !ok {
		a.metrics.scheduleErrors.WithLabelValues("command").Inc()
		a.logger.Warn("probe-now command for an unknown room ignored", "room", c.Room, "id", c.ID, "by", c.By)
		return
	}
	start := c.At
	if start.After(now) {
		start = now // the sender's clock is ahead of ours
	}
	a.logger.Info("probe-now command", "room", c.Room, "for", c.For, "by", c.By, "id", c.ID)
	a.store.addAdHoc(Session{
		ID:               "adhoc:" + c.ID,
		Room:             c.Room,
		Title:            "probe now",
		OpensAt:          start,
		ExpectedDuration: end.Sub(start),
		AdHoc:            true,
	})
}
