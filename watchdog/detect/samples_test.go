package detect

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
)

var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// at is t0 plus s seconds.
func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// aggs builds one Agg per second from t0, each from fn(i).
func aggs(n int, fn func(i int, a *Agg)) []*Agg {
	var out []*Agg
	for i := range n {
		a := &Agg{Room: "r", Probe: "p", Window: at(float64(i)), Samples: 1, WindowMS: 1000, ConnectedMS: 1000}
		a.End = a.Window.Add(time.Second)
		fn(i, a)
		out = append(out, a)
	}
	return out
}

const recent = 2 * time.Second // the default detect.recent

func TestDefaultRecent(t *testing.T) {
	if d := config.DefaultWatchdog().Detect.Recent; d != recent {
		t.Fatalf("default detect.recent %s; these tests assume %s", d, recent)
	}
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

func TestAggMerge(t *testing.T) {
	a := Agg{Room: "r", Probe: "p", Window: t0, End: at(0.9), Samples: 1, WindowMS: 1000, ConnectedMS: 1000, RTT: []float64{2}, RTTMaxMS: 3}
	b := Agg{Room: "r", Probe: "p", Location: "gy", Session: "S1", Window: t0, End: at(1), Samples: 2, WindowMS: 2000, ConnectedMS: 1500,
		FreezeMS: 300, FreezeCount: 1, Dropouts: 1, Down: 1, OutageMS: 500, RTT: []float64{400, 500}, RTTMaxMS: 600, Error: "read: EOF"}
	a.Merge(&b)
	want := Agg{Room: "r", Probe: "p", Location: "gy", Session: "S1", Window: t0, End: at(1), Samples: 3, WindowMS: 3000, ConnectedMS: 2500,
		FreezeMS: 300, FreezeCount: 1, Dropouts: 1, Down: 1, OutageMS: 500, RTT: []float64{2, 400, 500}, RTTMaxMS: 600, Error: "read: EOF"}
	if !a.End.Equal(want.End) || a.Location != want.Location || a.Session != want.Session || a.Samples != want.Samples ||
		a.WindowMS != want.WindowMS || a.ConnectedMS != want.ConnectedMS || a.FreezeMS != want.FreezeMS || a.FreezeCount != want.FreezeCount ||
		a.Dropouts != want.Dropouts || a.Down != want.Down || a.OutageMS != want.OutageMS || !slices.Equal(a.RTT, want.RTT) ||
		a.RTTMaxMS != want.RTTMaxMS || a.Error != want.Error {
		t.Errorf("merged\n %+v\nwant\n %+v", a, want)
	}
}

func TestLatency(t *testing.T) {
	r := config.DefaultWatchdog().Detect.Latency // p95 over 10 s above 300 ms, 1 s critical
	var zero time.Time
	tests := []struct {
		name         string
		aggs         []*Agg
		holds        bool
		recent       bool
		severity     vocab.Severity
		p95, limit   float64
		since, until time.Time
	}{
		{"no data", nil, false, false, "", 0, 0, zero, zero},
		{"no rtt", aggs(10, func(int, *Agg) {}), false, false, "", 0, 0, zero, zero},
		{"fine", aggs(10, func(_ int, a *Agg) { a.RTT = []float64{2, 3} }), false, false, "", 3, 300, zero, zero},
		{"one 500 ms spike among ten is not p95, but is recent", aggs(10, func(i int, a *Agg) {
			a.RTT = []float64{2}
			if i == 9 {
				a.RTT = []float64{500}
			}
		}), false, true, "", 0, 300, at(9), at(10)},
		{"degraded, still now", aggs(10, func(i int, a *Agg) {
			a.RTT = []float64{2}
			if i >= 8 {
				a.RTT = []float64{400}
			}
		}), true, true, vocab.SeverityDegraded, 400, 300, at(8), at(10)},
		{"degraded over the window, over in the recent data", aggs(10, func(i int, a *Agg) {
			a.RTT = []float64{2}
			if i < 8 {
				a.RTT = []float64{400}
			}
		}), true, false, vocab.SeverityDegraded, 400, 300, at(0), at(8)},
		{"critical", aggs(10, func(_ int, a *Agg) { a.RTT = []float64{1500} }), true, true, vocab.SeverityCritical, 1500, 1000, at(0), at(10)},
		{"old spikes leave the window", aggs(20, func(i int, a *Agg) {
			a.RTT = []float64{2}
			if i < 5 {
				a.RTT = []float64{1500}
			}
		}), false, false, "", 2, 300, zero, zero},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Latency(tt.aggs, r, recent)
			if v.Holds != tt.holds || v.Recent != tt.recent || v.Severity != tt.severity {
				t.Fatalf("verdict %+v, want holds %v recent %v severity %q", v, tt.holds, tt.recent, tt.severity)
			}
			if tt.p95 != 0 && math.Abs(v.Figures.RTTP95MS-tt.p95) > 1e-9 {
				t.Errorf("p95 %g, want %g", v.Figures.RTTP95MS, tt.p95)
			}
			if v.Figures.Limit != tt.limit {
				t.Errorf("limit %g, want %g", v.Figures.Limit, tt.limit)
			}
			if !v.Since.Equal(tt.since) || !v.Until.Equal(tt.until) {
				t.Errorf("since %s until %s, want %s and %s", v.Since, v.Until, tt.since, tt.until)
			}
			if v.Holds && !strings.Contains(v.Text, "RTT p95") {
				t.Errorf("text %q", v.Text)
			}
		})
	}
}

func TestLatencyDoesNotChangeItsInput(t *testing.T) {
	in := aggs(3, func(i int, a *Agg) { a.RTT = []float64{float64(500 - i), 2, 900} })
	Latency(in, config.DefaultWatchdog().Detect.Latency, recent)
	for i, a := range in {
		if want := []float64{float64(500 - i), 2, 900}; !slices.Equal(a.RTT, want) {
			t.Errorf("window %d: RTT %v, want %v untouched", i, a.RTT, want)
		}
	}
}

func TestStutter(t *testing.T) {
	r := config.DefaultWatchdog().Detect.Stutter // 5 % of 30 s: 1.5 s per participant
	var zero time.Time
	tests := []struct {
		name         string
		aggs         []*Agg
		holds        bool
		recent       bool
		pct          float64
		since, until time.Time
	}{
		{"none", aggs(30, func(int, *Agg) {}), false, false, 0, zero, zero},
		{"1 s in a fresh series is not enough, but is recent", aggs(2, func(i int, a *Agg) {
			if i == 1 {
				a.FreezeMS = 1000
			}
		}), false, true, 100 * 1000.0 / 30000, at(1), at(2)},
		{"2 s stall, over by now", aggs(30, func(i int, a *Agg) {
			if i == 10 || i == 11 {
				a.FreezeMS = 1000
			}
		}), true, false, 100 * 2000.0 / 30000, at(10), at(12)},
		{"2 s stall, just now", aggs(30, func(i int, a *Agg) {
			if i >= 28 {
				a.FreezeMS = 1000
			}
		}), true, true, 100 * 2000.0 / 30000, at(28), at(30)},
		{"two participants, one stutters 2 s", aggs(30, func(i int, a *Agg) {
			a.Samples = 2
			if i == 10 || i == 11 {
				a.FreezeMS = 1000
			}
		}), false, false, 100 * 2000.0 / 60000, at(10), at(12)},
		{"stutter older than the window is gone", aggs(40, func(i int, a *Agg) {
			if i < 5 {
				a.FreezeMS = 1000
			}
		}), false, false, 0, zero, zero},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Stutter(tt.aggs, r, recent)
			if v.Holds != tt.holds || v.Recent != tt.recent || math.Abs(v.Figures.StutterPct-tt.pct) > 1e-9 {
				t.Fatalf("verdict %+v, want holds %v recent %v pct %g", v, tt.holds, tt.recent, tt.pct)
			}
			if !v.Since.Equal(tt.since) || !v.Until.Equal(tt.until) {
				t.Errorf("since %s until %s, want %s and %s", v.Since, v.Until, tt.since, tt.until)
			}
			if v.Holds && v.Severity != vocab.SeverityDegraded {
				t.Errorf("severity %q", v.Severity)
			}
		})
	}
}

func TestDropout(t *testing.T) {
	latched := &Agg{Window: at(1), End: at(2), Samples: 3, Down: 1, Dropouts: 1, Error: "read: connection reset"}
	var zero time.Time
	tests := []struct {
		name         string
		aggs         []*Agg
		latched      *Agg
		holds        bool
		down         int
		since, until time.Time
		text         string
	}{
		{"no data", nil, nil, false, 0, zero, zero, ""},
		{"none", aggs(3, func(int, *Agg) {}), nil, false, 0, zero, zero, ""},
		{"in the latest window", aggs(3, func(i int, a *Agg) {
			if i == 2 {
				a.Down, a.Dropouts, a.Error = 1, 1, "read: EOF"
			}
		}), nil, true, 1, at(2), at(3), "1 of 1 participants down, 1 dropouts: read: EOF"},
		{"back since, but latched", aggs(3, func(int, *Agg) {}), latched, true, 1, at(1), at(2), "connection reset"},
		{"still down without a new dropout", aggs(3, func(i int, a *Agg) { a.Down = 1 }), nil, true, 1, at(2), at(3), "1 of 1 participants down"},
		{"back since, not latched: until is the end of the last down window", aggs(4, func(i int, a *Agg) {
			if i == 1 {
				a.Down, a.Dropouts = 1, 1
			}
		}), nil, false, 0, zero, at(2), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Dropout(tt.aggs, tt.latched)
			if v.Holds != tt.holds || v.Recent != tt.holds || v.Figures.Down != tt.down {
				t.Fatalf("verdict %+v, want holds and recent %v, down %d", v, tt.holds, tt.down)
			}
			if !v.Since.Equal(tt.since) || !v.Until.Equal(tt.until) {
				t.Errorf("since %s until %s, want %s and %s", v.Since, v.Until, tt.since, tt.until)
			}
			if v.Holds && v.Severity != vocab.SeverityCritical {
				t.Errorf("severity %q", v.Severity)
			}
			if !strings.Contains(v.Text, tt.text) {
				t.Errorf("text %q, want it to contain %q", v.Text, tt.text)
			}
		})
	}
}
