// Package correlate turns the detectors' findings into problems — one per
// real fault — using the city's topology (rooms, the sub-centers hosting
// them, the servers they depend on) and where the probes that saw the
// findings are. It does DESIGN.md's four cases:
//
//   - a room degraded from every location, and a server it depends on
//     unhealthy → cause server; every room on that server is in the one
//     problem;
//   - degraded from every location, its servers healthy → cause room
//     (the application);
//   - degraded only from location L, fine from others → cause network path
//     to L; every room seen degraded from L is in the one problem;
//   - one probe alone sees it, its neighbour at the same location does
//     not → probe-local: recorded as probe health, never paged.
//
// Plus inhibition (while a server is down, the rooms it carries do not page
// separately) and maintenance windows (problems they cover are recorded but
// not paged). A problem seen from only part of the locations must hold for
// the settle time before it is reported, so a room degrading everywhere is
// not first taken for a network fault because one location reported first.
//
// Like detect, the package does no I/O and reads no clock.
package correlate
