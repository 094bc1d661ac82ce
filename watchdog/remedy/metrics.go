package remedy

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// The results runs are counted by.
const (
	ResultVerified    = "verified"
	ResultFailed      = "failed"
	ResultRefused     = "refused"
	ResultDryRun      = "dry_run"
	ResultInterrupted = "interrupted"
)

// metrics are the runbooks' state for /metrics. A Runner is made anew
// each time a replica becomes the leader: the collectors registered by an
// earlier one are reused.
type metrics struct {
	enabled   *prometheus.GaugeVec
	suspended *prometheus.GaugeVec
	runs      *prometheus.CounterVec
	lastRun   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		enabled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bidwatch_runbook_enabled",
			Help: "Whether the runbook is enabled in the config (1) or not (0).",
		}, []string{"runbook"}),
		suspended: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bidwatch_runbook_suspended",
			Help: "Whether the runbook is suspended after failed verifications (1), until a person re-enables it.",
		}, []string{"runbook"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bidwatch_runbook_runs_total",
			Help: "Runbook attempts, by result: verified, failed, refused, dry_run, interrupted (a step cut by a leader change; the attempt is verified and counted again).",
		}, []string{"runbook", "result"}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bidwatch_runbook_last_run_timestamp_seconds",
			Help: "When the runbook last ran its steps (Unix seconds).",
		}, []string{"runbook"}),
	}
	var err error
	if m.enabled, err = register(reg, m.enabled); err != nil {
		return nil, err
	}
	if m.suspended, err = register(reg, m.suspended); err != nil {
		return nil, err
	}
	if m.runs, err = register(reg, m.runs); err != nil {
		return nil, err
	}
	if m.lastRun, err = register(reg, m.lastRun); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector registered before it.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old, nil
		}
	}
	return c, err
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// The updates do nothing without a registry (m nil).

func (m *metrics) state(name string, enabled, suspended bool) {
	if m == nil {
		return
	}
	m.enabled.WithLabelValues(name).Set(boolGauge(enabled))
	m.suspended.WithLabelValues(name).Set(boolGauge(suspended))
}

func (m *metrics) run(name, result string) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(name, result).Inc()
}

func (m *metrics) ran(name string, unix float64) {
	if m == nil {
		return
	}
	m.lastRun.WithLabelValues(name).Set(unix)
}
