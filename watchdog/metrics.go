package watchdog

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the watchdog's Prometheus metrics.
type metrics struct {
	processed   prometheus.Counter
	bad         prometheus.Counter
	claimed     prometheus.Counter
	lost        prometheus.Counter
	lag         prometheus.Histogram
	leader      prometheus.Gauge
	pending     prometheus.Gauge
	open        *prometheus.GaugeVec
	opened      *prometheus.CounterVec
	findings    *prometheus.GaugeVec
	stage       *prometheus.HistogramVec
	healthTotal *prometheus.CounterVec
	packed      *prometheus.CounterVec
	unrolled    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		processed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bidwatch_watchdog_samples_processed_total",
			Help: "Samples this replica read, aggregated and acknowledged.",
		}),
		bad: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bidwatch_watchdog_samples_bad_total",
			Help: "Stream entries that were not valid Samples (acknowledged and skipped).",
		}),
		claimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bidwatch_watchdog_samples_claimed_total",
			Help: "Pending entries this replica claimed from a replica taken for dead.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bidwatch_watchdog_samples_claimed_away_total",
			Help: "Entries another replica claimed from this one before it could acknowledge them (not counted twice).",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bidwatch_watchdog_sample_lag_seconds",
			Help:    "Time from the end of a Sample's window to its processing.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bidwatch_watchdog_leader",
			Help: "1 while this replica holds the leader lease.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bidwatch_watchdog_stream_pending",
			Help: "Samples delivered to the group and not yet acknowledged (leader only).",
		}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bidwatch_watchdog_open_incidents",
			Help: "Incidents not yet resolved, by SLA class (leader only).",
		}, []string{"class"}),
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bidwatch_watchdog_incidents_opened_total",
			Help: "Incidents this replica opened, by cause.",
		}, []string{"cause"}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bidwatch_watchdog_findings_firing",
			Help: "Findings firing, by kind (leader only).",
		}, []string{"kind"}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bidwatch_watchdog_stage_seconds",
			Help:    "Time spent per stage: ingest (decode, reduce, flush a batch), think (detect, correlate, plan), act (carry the plan out on Redis).",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"stage"}),
		healthTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bidwatch_watchdog_health_checks_total",
			Help: "Health checks run, by result.",
		}, []string{"result"}),
		unrolled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bidwatch_watchdog_samples_not_rolled_up_total",
			Help: "Valid Samples left out of the roll-ups and the raw archive: no room, no measured time, or ':' or '|' in their room, location or transport.",
		}),
		packed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bidwatch_watchdog_rollups_packed_total",
			Help: "Roll-ups the leader packed: kind day (one Dim's day), session, health_day.",
		}, []string{"kind"}),
	}
	for _, c := range []prometheus.Collector{m.processed, m.bad, m.claimed, m.lost, m.lag, m.leader, m.pending, m.open, m.opened, m.findings, m.stage, m.healthTotal, m.packed, m.unrolled} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
