// Package drill runs emergency drills (应急演练) against the synthetic hall: a
// script, written as a YAML file, of faults that come and go on a timeline —
// a server saturated or down, a room lagging or dropping its bidders, the
// network path from one sub-center congested or cut — each with the
// incidents the watchdog is expected to raise for it.
//
// [Parse] and [Load] read a script strictly (an unknown key is an error;
// every problem is reported at once with its YAML path and line);
// [Script.Check] checks its ids against a hall's [Topology]. [Run] plays it
// against a [Target]: a hall in this process ([HallTarget]) or one in
// another process through its admin API ([AdminClient]). Time comes from an
// injected clock, so the timeline is tested without sleeping, and each
// drill's start and stop are reported with the time they happened, for a
// drill report to hold the incidents against.
//
// The file format is in docs/hall-protocol.md ("Drills"); the demo's script
// is [Demo] (demo.yaml, also configs/drill-demo.yaml).
//
// Expectations are plain data: this package knows nothing of the watchdog.
package drill
