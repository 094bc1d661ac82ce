// Package probe is the probe agent: it runs inside a sub-center's network,
// joins every scheduled bid opening with synthetic participants (and patrols
// the rooms between sessions), and delivers every Sample they measure to
// Redis — through a bounded on-disk spool while Redis is away, replayed in
// order and without duplicates when it returns.
//
// The parts, one file each: the schedule and its sources (schedule*.go), the
// pure plan that turns sessions into what should be probed now (plan.go),
// the participant registry (participant.go), one runner per probing
// (runner.go), the spool (spool.go), the publisher (publisher.go), heartbeats
// and commands (heartbeat.go, commands.go), metrics (metrics.go) and the
// agent that ties them together (agent.go). See docs/probe.md.
package probe
