package watchdog

import (
	"context"

	"github.com/bidwatch/bidwatch/watchdog/drills"
	"github.com/bidwatch/bidwatch/watchdog/report"
	"github.com/bidwatch/bidwatch/watchdog/reportdeliver"
)

// deliverReports sends the scheduled period reports (reports.deliver)
// while this replica leads: through the dispatch outbox, so only when
// dispatch runs here. Drill incidents are told apart in them by the drill
// runs recorded in Redis.
func (w *Watchdog) deliverReports(ctx context.Context) {
	if w.dispatch == nil || w.rollups == nil || len(w.city.Reports.Deliver) == 0 {
		return
	}
	prefix := w.bus.Prefix()
	d, err := reportdeliver.New(reportdeliver.Options{
		City: w.city, Redis: w.rdb, Prefix: prefix,
		Sources: report.Sources{Config: w.city, Rollups: w.rollups, Incidents: w.store},
		Drills:  drills.NewStore(w.rdb, prefix),
		Clock:   w.clock, Logger: w.log,
	})
	if err != nil || d == nil {
		if err != nil {
			w.log.Warn("scheduled reports off", "err", err)
		}
		return
	}
	d.Run(ctx)
}
