package probe

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the agent's Prometheus metrics, on its own registry.
type metrics struct {
	reg            *prometheus.Registry
	participants   prometheus.Gauge
	runs           *prometheus.GaugeVec
	samples        prometheus.Counter
	sent           prometheus.Counter
	duplicates     prometheus.Counter
	publishErrors  prometheus.Counter
	unconfirmed    prometheus.Counter
	outages        prometheus.Counter
	redisUp        prometheus.Gauge
	scheduleErrors *prometheus.CounterVec
	sessions       prometheus.Gauge
}

func newMetrics(spool *Spool) *metrics {
	const ns, sub = "bidwatch", "probe"
	m := &metrics{
		reg: prometheus.NewRegistry(),
		participants: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "participants",
			Help: "Synthetic participants running."}),
		runs: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "probings",
			Help: "Rooms being probed, by kind (session, adhoc, patrol)."}, []string{"kind"}),
		samples: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "samples_total",
			Help: "Samples measured by participants and queued for publishing."}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "samples_sent_total",
			Help: "Samples added to the Redis samples stream."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "samples_duplicate_total",
			Help: "Samples offered again after an unclear failure and skipped because Redis had them."}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "publish_errors_total",
			Help: "Failed attempts to publish a batch of Samples to Redis."}),
		unconfirmed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "publish_unconfirmed_total",
			Help: "Publishes the master took but too few replicas confirmed (WAIT) in time: kept in the spool and sent again."}),
		outages: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "redis_outages_total",
			Help: "Times Redis went from up to down as the publisher saw it."}),
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "redis_up",
			Help: "1 while publishing to Redis succeeds; 0 from the first failed publish, or one unanswered for 0.5 s."}),
		scheduleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "schedule_errors_total",
			Help: "Schedule loads rejected (the last good schedule was kept), by source (file, feed, command)."}, []string{"source"}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "schedule_sessions",
			Help: "Sessions in the merged schedule, cancelled ones included."}),
	}
	for _, k := range []Kind{KindSession, KindAdHoc, KindPatrol} {
		m.runs.WithLabelValues(string(k))
	}
	for _, s := range []string{"file", "feed", "command"} {
		m.scheduleErrors.WithLabelValues(s)
	}
	replay := spool.Replay()
	torn := 0.0
	if replay.Torn {
		torn = 1
	}
	m.reg.MustRegister(
		m.participants, m.runs, m.samples, m.sent, m.duplicates, m.publishErrors, m.unconfirmed, m.outages, m.redisUp, m.scheduleErrors, m.sessions,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "spool_depth",
			Help: "Samples waiting in the spool to be published."}, func() float64 { return float64(spool.Depth()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "spool_bytes",
			Help: "Bytes of spool segment files on disk."}, func() float64 { return float64(spool.DiskBytes()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "spool_dropped_total",
			Help: "Samples dropped because the spool was full (oldest first) or unreadable: a measurement gap."},
			func() float64 { return float64(spool.Dropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "spool_corrupt_total",
			Help: "Spool records skipped, unpublished, because they failed their checksum or were not a Sample: damage on disk."},
			func() float64 { return float64(spool.Corrupt()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "spool_replay_records",
			Help: "Records an earlier run left in the spool, found at start (to replay)."},
			func() float64 { return float64(replay.Records) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "spool_replay_torn",
			Help: "1 when the spool's last record was found cut short at start (a power cut or a kill mid-write)."},
			func() float64 { return torn }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "spool_replayed_total",
			Help: "Records of an earlier run published (or found in Redis already) since start."},
			func() float64 { return float64(spool.Replayed()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}
