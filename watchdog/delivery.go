package watchdog

import (
	"context"

	"github.com/bidwatch/bidwatch/watchdog/report"
	"github.com/bidwatch/bidwatch/watchdog/reportdeliver"
	"github.com/bidwatch/bidwatch/watchdog/reportsrc"
)

// deliverReports sends the scheduled period reports (reports.deliver)
// while this replica leads: through the dispatch outbox, so only when
// dispatch runs here. Their sources are assembled as for `bidwatch report`
// and the console (reportsrc): drill incidents are kept apart.
func (w *Watchdog) deliverReports(ctx context.Context) {
	if w.dispatch == nil || len(w.city.Reports.Deliver) == 0 {
		return
	}
	prefix := w.bus.Prefix()
	d, err := reportdeliver.New(reportdeliver.Options{
		City: w.city, Redis: w.rdb, Prefix: prefix,
		Sources: func(ctx context.Context, p report.Period) (report.Sources, error) {
			return reportsrc.New(ctx, reportsrc.Options{Redis: w.rdb, Prefix: prefix, Config: w.city, Incidents: w.store, Now: w.clock.Now}, p)
		},
		Clock: w.clock, Logger: w.log,
	})
	if err != nil || d == nil {
		if err != nil {
			w.log.Warn("scheduled reports off", "err", err)
		}
		return
	}
	d.Run(ctx)
}
