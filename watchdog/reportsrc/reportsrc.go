// Package reportsrc assembles a period report's sources from Redis: the
// roll-ups, the fault records, the evidence chain's head (signed when
// reports.signing_key is set) and the recorded drills, whose incidents the
// report keeps apart. The console, `bidwatch report` and the scheduled
// delivery all build reports through it, so they cannot disagree.
package reportsrc

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/drills"
	"github.com/bidwatch/bidwatch/watchdog/evidence"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/report"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// Options are what New reads from.
type Options struct {
	Redis  redis.UniversalClient
	Prefix string
	Config *config.Config
	// Incidents lists the fault records; nil reads them from Redis with
	// the city's incident policy.
	Incidents report.Lister
	// Now is the clock the evidence head is signed at (default time.Now).
	Now func() time.Time
}

// New returns the sources of a report on period (and, for the comparison,
// the period before it). It reads the drill runs that touch them and the
// signing key once; an unreadable key is an error, as a report that should
// be signed must not go out unsigned.
func New(ctx context.Context, o Options, period report.Period) (report.Sources, error) {
	cfg := o.Config
	if o.Now == nil {
		o.Now = time.Now
	}
	key, err := cfg.Reports.LoadSigningKey()
	if err != nil {
		return report.Sources{}, err
	}
	if o.Incidents == nil {
		o.Incidents = incident.NewRedisStore(o.Redis, o.Prefix, cfg.Watchdog.Incidents)
	}
	runs, err := drills.NewStore(o.Redis, o.Prefix).Between(ctx, period.Prev().Start, period.End)
	if err != nil {
		return report.Sources{}, fmt.Errorf("read drill runs: %w", err)
	}
	chain := evidence.NewChain(o.Redis, o.Prefix)
	return report.Sources{
		Config:    cfg,
		Rollups:   rollup.NewRedisStore(o.Redis, o.Prefix, cfg.Reports.Location(), cfg.Reports.RollupRetention),
		Incidents: o.Incidents,
		EvidenceHead: func(ctx context.Context) (report.Evidence, error) {
			h, err := chain.Head(ctx)
			if err != nil {
				return report.Evidence{}, err
			}
			h.At = o.Now()
			if key != nil {
				h = evidence.SignHead(h, key)
			}
			return report.Evidence{Head: report.EvidenceHead{
				N: h.N, Hash: h.Hash.String(), At: h.At,
				KeyID: h.KeyID, PublicKey: h.PublicKey, Signature: h.Signature,
			}}, nil
		},
		IsDrill: func(inc *incident.Incident) bool { return drills.IsDrill(inc, runs) },
	}, nil
}
