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
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "redis_up",
			Help: "1 while the last publish to Redis succeeded."}),
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
	m.reg.MustRegister(
		m.participants, m.runs, m.samples, m.sent, m.duplicates, m.publishErrors, m.redisUp, m.scheduleErrors, m.sessions,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "spool_depth",
			Help: "Samples waiting in the spool to be published."}, func() float64 { return float64(spool.Depth()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "spool_bytes",
			Help: "Bytes of spool segment files on disk."}, func() float64 { return float64(spool.DiskBytes()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "spool_dropped_total",
			Help: "Samples dropped because the spool was full (oldest first) or unreadable: a measurement gap."},
			func() float64 { return float64(spool.Dropped()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}
