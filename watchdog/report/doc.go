// Package report builds the period report (运维报告): for a calendar period
// (day, week, month, quarter, half-year, year, or any range of days) and a
// scope (the city, one sub-center, one room), what bidders saw — sessions
// probed and their outcome, availability, round trips, stutter, dropouts —
// the incidents by SLA class with their compliance, MTTA and MTTR and
// breaches, automatic remediation, patrol coverage (日常巡检), server health
// trends, the worst rooms and recurring problems, and the change from the
// previous period. It reads roll-ups (watchdog/rollup) and incident records
// only, never raw Samples, so a year's report is as cheap as a day's times
// the days. Build computes the figures (a pure function of what it reads and
// the request's clock); WriteHTML, WriteCSV and WriteJSON render them.
package report
