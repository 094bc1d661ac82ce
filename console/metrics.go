package console

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the console's own Prometheus metrics, served on /metrics
// (behind a login like everything else: scrape with an API token, Prometheus's
// authorization.credentials).
type metrics struct {
	reg    *prometheus.Registry
	ticks  prometheus.Counter
	logins *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		ticks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bidwatch_console_ticks_total", Help: "Live-feed ticks sent (one a second).",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bidwatch_console_logins_total", Help: "Sign-in attempts by result: ok, refused (wrong name or password), limited (over the rate limit), error.",
		}, []string{"result"}),
	}
	for _, r := range []string{"ok", "refused", "limited", "error"} {
		m.logins.WithLabelValues(r)
	}
	m.reg.MustRegister(m.ticks, m.logins,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bidwatch_console_viewers", Help: "Live-feed viewers connected.",
		}, func() float64 { return float64(s.hub.Viewers()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "bidwatch_console_viewers_dropped_total", Help: "Live-feed viewers dropped for reading too slowly (their page reconnects).",
		}, func() float64 { return float64(s.hub.Dropped()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bidwatch_console_source_ok", Help: "1 while the console reads the samples stream, 0 while Redis is away (what it shows is stale).",
		}, func() float64 {
			if s.follow.ok.Load() {
				return 1
			}
			return 0
		}),
	)
	return m
}
