package watchdog

import (
	"context"
	"errors"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/evidence"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// seal runs the evidence sealer while this replica leads
// (docs/evidence.md): sessions once quiet, patrol hours once ended, every
// incident version from the events stream, and each day of the report
// time zone closed (signed with reports.signing_key when it is set).
func (w *Watchdog) seal(ctx context.Context) {
	key, err := w.city.Reports.LoadSigningKey()
	if err != nil {
		// Validation loaded it at start: the file changed since. Seal
		// unsigned rather than not at all.
		w.log.Error("evidence: periods will not be signed", "err", err)
	}
	rooms := make([]string, len(w.city.Rooms))
	for i, r := range w.city.Rooms {
		rooms[i] = r.ID
	}
	s, err := evidence.NewSealer(evidence.SealerOptions{
		Redis: w.rdb, Prefix: w.bus.Prefix(), Rooms: rooms, Incidents: incidentVersions{w.store},
		Key: key, Location: w.city.Reports.Location(), RawRetention: w.city.Reports.RawRetention,
		// Every 40 leader ticks: 10 s at the default tick.
		Every: 40 * w.cfg.Leader.Tick, Clock: w.clock, Logger: w.opts.Logger, Registry: w.opts.Registry,
	})
	if err != nil {
		w.log.Error("evidence sealer", "err", err)
		return
	}
	s.Run(ctx)
}

// incidentVersions reads the incident each event names, for its seal.
type incidentVersions struct{ store *incident.RedisStore }

// Versions implements evidence.IncidentSource: the version stored when the
// event is read (a version a later change replaced before it was read is
// sealed as that later one).
func (v incidentVersions) Versions(ctx context.Context, from string) <-chan evidence.Version {
	out := make(chan evidence.Version)
	go func() {
		defer close(out)
		for ev := range v.store.Events(ctx, from) {
			inc, err := v.store.Get(ctx, ev.Incident.ID)
			for err != nil && !errors.Is(err, incident.ErrNotFound) && ctx.Err() == nil {
				// Redis is away: wait for it rather than skip a version.
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				inc, err = v.store.Get(ctx, ev.Incident.ID)
			}
			if err != nil {
				continue
			}
			doc, err := incident.Canonical(inc)
			if err != nil {
				continue
			}
			select {
			case out <- evidence.Version{StreamID: ev.StreamID, ID: inc.ID, Version: inc.Version, Doc: doc}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
