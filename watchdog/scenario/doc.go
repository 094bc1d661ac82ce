// Package scenario runs the watchdog's decisions on simulated time against
// a scenario file: a city's topology, probes at locations, a timeline of
// faults (a server saturated or down, a network path or a site's uplink
// congested or cut, a room's own trouble, a probe silent or alone in
// trouble) and of people's actions, and the incidents expected (cause,
// place, when opened and resolved, merges, relapses).
//
// A simulator turns the faults into what the probes would measure and the
// health checks would read, second by second; the same chain the leader
// runs (package decide: detect, correlate, plan) decides, and an in-memory
// store keeps the incidents. No Redis, no sockets, no sleeping: ten
// simulated minutes take a fraction of a second. It is how bidwatch's own
// correlation is tested (watchdog/testdata/scenarios) and how a city tests
// its topology and thresholds before an opening: `bidwatch watchdog test
// FILE…`, in the spirit of `promtool test rules`.
package scenario
