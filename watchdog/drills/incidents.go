package drills

import (
	"context"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// LookBack is how long before a run an incident may have opened and still
// be the run's: a relapse drill reopens an incident opened earlier.
const LookBack = 24 * time.Hour

// Lister lists incidents (incident.Store has it).
type Lister interface {
	List(ctx context.Context, f incident.Filter) ([]incident.Incident, error)
}

// Incidents lists the incidents a run is scored against: those opened from
// LookBack before it to grace after its end (or now, while it runs).
func Incidents(ctx context.Context, l Lister, run *Run, grace time.Duration, now time.Time) ([]incident.Incident, error) {
	return l.List(ctx, incident.Filter{From: run.StartedAt.Add(-LookBack), To: run.End(now).Add(grace + time.Nanosecond)})
}
