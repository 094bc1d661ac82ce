// Package correlate turns the evidence the detectors hold now — how each
// probe location sees each room over each transport (ok, degraded, down or
// unknown), each server's health (ok, strained, saturated, down or unknown)
// and which probes are silent — into problems, one per real fault, each
// with a stable cause key, the rooms it explains and why. It uses the
// city's topology: the site (sub-center) hosting each room and the servers
// each room depends on.
//
// Correlate is a pure function of the present: no state, no clock, no I/O.
// Its rules run in order, one function each, each explaining the rooms the
// earlier ones left:
//
//   - probe-local: a probe sees trouble its neighbour at the same location
//     does not → that probe's own problem, never paged; the location sees
//     the room fine;
//   - server: rooms in trouble and a server they depend on with its own
//     problem → cause server, holding every room on it; blame lasts while
//     the server's problem holds (and for trouble that began before it
//     cleared), and a down server keeps its rooms out of network problems
//     (inhibition);
//   - uplink: a site's rooms slow from everywhere but from the site's own
//     probes → the site's uplink, not a path per viewing location;
//   - network path: rooms slow from location L and fine from elsewhere →
//     the path to L, whose place is L alone;
//   - room: slow from every location that sees it, servers healthy → the
//     room's application;
//   - silent probes are probe problems.
//
// Unknown is never fine and never degraded. Maintenance windows mark the
// problems they cover as not paged. Deciding when a problem is believed
// (settling, waiting for fresh health) and what it does to incidents is the
// planner's job (package plan).
package correlate
