// Package watchdog is bidwatch's watchdog: it consumes the probes' Samples
// from Redis, checks the servers' health, and turns both into incidents.
//
// The sub-packages hold the decisions, each pure and tested without I/O:
// detect (findings with hysteresis), correlate (one problem per fault, by
// topology and probe location), incident (the state machine, SLA classes,
// fault records and their Redis store), and health (the checks, one file
// per kind). This package wires them to Redis:
//
//   - every replica reads the samples stream with the consumer group
//     "watchdog", so replicas split the load. It reduces what it reads to
//     per-room, per-probe, per-window aggregates and, in one Lua script,
//     appends them to the aggregates stream and acknowledges the entries —
//     but only entries it still owns, so an entry claimed away from a
//     replica that stalled is never counted twice. A dead replica's pending
//     entries are claimed (XAUTOCLAIM) by the others after claim_idle.
//   - one replica, the leader (a lease: SET NX PX, renewed by a Lua script),
//     runs the singletons: it reads the aggregates stream, runs the health
//     checks and reads the probes' heartbeats, feeds the detectors, correlates,
//     opens, updates and resolves incidents, and flags breached deadlines. A
//     new leader replays the last minute of aggregates to rebuild its windows;
//     incidents are keyed by problem fingerprint in Redis, so a change of
//     leader never duplicates one.
//
// Metrics are served from the Watchdog's own Prometheus registry.
package watchdog
