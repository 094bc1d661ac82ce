package evidence

import (
	"crypto/sha256"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// sealMetrics are the sealer's counters for /metrics.
type sealMetrics struct {
	seals   *prometheus.CounterVec
	samples prometheus.Counter
	errors  prometheus.Counter
}

func newSealMetrics(reg prometheus.Registerer) (*sealMetrics, error) {
	m := &sealMetrics{
		seals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bidwatch_evidence_seals_total",
			Help: "Entries appended to the evidence chain, by kind: session, patrol, incident, period.",
		}, []string{"kind"}),
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bidwatch_evidence_samples_sealed_total",
			Help: "Samples covered by session and patrol seals (a re-sealed group counts its Samples again).",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bidwatch_evidence_seal_errors_total",
			Help: "Failed seals and sealing passes (retried on the next pass).",
		}),
	}
	var err error
	if m.seals, err = register(reg, m.seals); err != nil {
		return nil, err
	}
	if m.samples, err = register(reg, m.samples); err != nil {
		return nil, err
	}
	if m.errors, err = register(reg, m.errors); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector registered before it
// (a new leader's Sealer).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old, nil
			}
		}
		return c, err
	}
	return c, nil
}

func sha256Sum(b []byte) Digest { return sha256.Sum256(b) }
