// Package detect turns what the probes measured (Samples, reduced to
// per-window aggregates), the servers' health readings and the probes'
// heartbeats into findings: latency, stutter, dropout, server down,
// saturation, and silent probes.
//
// Every detector has hysteresis (see [Hysteresis]): a condition must hold
// for `for` before it fires and be clear for `clear_after` before it ends, so
// a flapping link makes one finding, not fifty. The package does no I/O and
// reads no clock: every call takes the time it is evaluated at, so the
// decisions are tested table-driven with made-up times.
//
// Sample findings are kept per series — what one probe sees of one room —
// because correlation needs to know which probes, at which locations, see a
// room degraded and which see it fine.
package detect
