// Package drills records emergency drills (应急演练) and scores them.
//
// A drill script (synthetic/hall/drill) played against a hall reports each
// drill's start and stop; a [Recording] keeps them in Redis as a [Run]: the
// script, each drill's faults with the places they touch (rooms, servers,
// probe locations, sub-centers, from the city's topology), the planned and
// the actual times, and what could not be injected.
//
// [Score] is a pure function of a run, the incidents of its time and the
// drill targets (config reports.drill): for each drill, the incidents its
// faults caused and how soon they were detected, alerted, acknowledged and
// mitigated, each against its target and the incident's SLA deadline, and
// what went wrong. [Scorecard.WriteHTML], WriteJSON and WriteCSV render it
// for the people drilled and the center.
//
// [Matches] and [IsDrill] tell a drill's incidents from real ones, for the
// period report.
package drills
