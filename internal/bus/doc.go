// Package bus is bidwatch's connection to Redis, shared by the probe agent,
// the watchdog and the console: how a Redis URL becomes a client (single node,
// Sentinel or Cluster, or an embedded in-process Redis when no URL is given),
// every key and stream name under one prefix, and the encoding of what flows
// through them — Samples, probe heartbeats and probe commands.
//
// The wire format is documented in docs/wire-format.md; keep the two in step.
package bus
