package watchdog

import (
	"context"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// compactEvery is how often the leader packs closed days and quiet
// sessions (and at once when it starts leading).
const compactEvery = 10 * time.Minute

// compactLoop packs, while this replica leads, what can no longer change:
// each Dim's days of the report time zone rollup.DefaultGrace after they
// ended, health hours likewise, and sessions quiet for rollup.DefaultQuiet.
func (w *Watchdog) compactLoop(ctx context.Context) {
	t := w.clock.NewTicker(compactEvery)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			start := time.Now()
			res, err := w.rollups.Compact(ctx, w.clock.Now(), rollup.DefaultGrace, rollup.DefaultQuiet)
			w.m.packed.WithLabelValues("day").Add(float64(res.Days))
			w.m.packed.WithLabelValues("session").Add(float64(res.Sessions))
			w.m.packed.WithLabelValues("health_day").Add(float64(res.HealthDays))
			if err != nil {
				if ctx.Err() == nil {
					w.log.Warn("pack roll-ups", "err", err)
				}
				break
			}
			if res.Days+res.Sessions+res.HealthDays > 0 {
				w.log.Info("packed roll-ups", "days", res.Days, "hours", res.Hours, "sessions", res.Sessions, "health_days", res.HealthDays, "took", time.Since(start).Round(time.Millisecond))
			}
			if !res.More {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
	}
}
