package detect

import (
	"math"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// aggs builds one Agg per second from t0, each from fn(i).
func aggs(n int, fn func(i int, a *Agg)) []*Agg {
	var out []*Agg
	for i := range n {
		a := &Agg{Room: "r", Probe: "p", Window: t0.Add(time.Duration(i) * time.Second), Samples: 1, WindowMS: 1000, ConnectedMS: 1000}
		a.End = a.Window.Add(time.Second)
		fn(i, a)
		out = append(out, a)
	}
	return out
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{nil, 95, 0},
		{[]float64{7}, 95, 7},
		{[]float64{1, 2}, 50, 1.5},
		{[]float64{5, 1, 4, 2, 3}, 100, 5},
		{[]float64{5, 1, 4, 2, 3}, 0, 1},
		// One outlier among ten does not make the p95; two do.
		{[]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 400}, 95, 220.45},
		{[]float64{1, 1, 1, 1, 1, 1, 1, 1, 400, 400}, 95, 400},
	}
	for _, tt := range tests {
		if got := Percentile(tt.xs, tt.p); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Percentile(%v, %g) = %g, want %g", tt.xs, tt.p, got, tt.want)
		}
	}
}

func TestLatency(t *testing.T) {
	r := config.DefaultWatchdog().Detect.Latency
	tests := []struct {
		name     string
		aggs     []*Agg
		cond     bool
		severity Severity
		p95      float64
	}{
		{"no data", nil, false, "", 0},
		{"no rtt", aggs(10, func(int, *Agg) {}), false, "", 0},
		{"fine", aggs(10, func(_ int, a *Agg) { a.RTT = []float64{2, 3} }), false, "", 3},
		{"one 500 ms spike among ten is not p95", aggs(10, func(i int, a *Agg) {
			a.RTT = []float64{2}
			if i == 9 {
				a.RTT = []float64{500}
			}
		}), false, "", 0},
		{"degraded", aggs(10, func(i int, a *Agg) {
			a.RTT = []float64{2}
			if i >= 8 {
				a.RTT = []float64{400}
			}
		}), true, SeverityDegraded, 400},
		{"critical", aggs(10, func(_ int, a *Agg) { a.RTT = []float64{1500} }), true, SeverityCritical, 1500},
		{"old spikes leave the window", aggs(20, func(i int, a *Agg) {
			a.RTT = []float64{2}
			if i < 5 {
				a.RTT = []float64{1500}
			}
		}), false, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Latency(tt.aggs, r)
			if v.Cond != tt.cond || v.Severity != tt.severity {
				t.Fatalf("verdict %+v, want cond %v severity %q", v, tt.cond, tt.severity)
			}
			if tt.p95 != 0 && v.Figures.RTTP95MS != tt.p95 {
				t.Errorf("p95 %g, want %g", v.Figures.RTTP95MS, tt.p95)
			}
		})
	}
}

func TestStutter(t *testing.T) {
	r := config.DefaultWatchdog().Detect.Stutter // 5 % of 30 s: 1.5 s per participant
	tests := []struct {
		name string
		aggs []*Agg
		cond bool
		pct  float64
	}{
		{"none", aggs(30, func(int, *Agg) {}), false, 0},
		{"1 s in a fresh series is not enough", aggs(2, func(i int, a *Agg) {
			if i == 1 {
				a.FreezeMS = 1000
			}
		}), false, 100 * 1000.0 / 30000},
		{"2 s stall", aggs(30, func(i int, a *Agg) {
			if i == 10 || i == 11 {
				a.FreezeMS = 1000
			}
		}), true, 100 * 2000.0 / 30000},
		{"two participants, one stutters 2 s", aggs(30, func(i int, a *Agg) {
			a.Samples = 2
			if i == 10 || i == 11 {
				a.FreezeMS = 1000
			}
		}), false, 100 * 2000.0 / 60000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Stutter(tt.aggs, r)
			if v.Cond != tt.cond || math.Abs(v.Figures.StutterPct-tt.pct) > 1e-9 {
				t.Fatalf("verdict %+v, want cond %v pct %g", v, tt.cond, tt.pct)
			}
		})
	}
}

func TestDropout(t *testing.T) {
	down := &Agg{Samples: 3, Down: 1, Dropouts: 1, Error: "read: connection reset"}
	tests := []struct {
		name    string
		aggs    []*Agg
		latched *Agg
		cond    bool
		down    int
	}{
		{"none", aggs(3, func(int, *Agg) {}), nil, false, 0},
		{"in the latest window", aggs(3, func(i int, a *Agg) {
			if i == 2 {
				a.Down, a.Dropouts = 1, 1
			}
		}), nil, true, 1},
		{"back since, but latched", aggs(3, func(int, *Agg) {}), down, true, 1},
		{"still down without a new dropout", aggs(3, func(i int, a *Agg) { a.Down = 1 }), nil, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Dropout(tt.aggs, tt.latched)
			if v.Cond != tt.cond || v.Figures.Down != tt.down {
				t.Fatalf("verdict %+v, want cond %v down %d", v, tt.cond, tt.down)
			}
		})
	}
}
