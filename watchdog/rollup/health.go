package rollup

import (
	"math"
	"sort"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/health"
)

// HealthKey is what a health roll-up is kept per: a server's check, one of
// its named values (Metric "" for the check's own latency), and a UTC hour.
type HealthKey struct {
	Server string
	Check  string
	Metric string
	Hour   time.Time
}

// HealthDelta is one health reading's contribution to a HealthRow.
type HealthDelta struct {
	Key    HealthKey
	Checks int64
	Failed int64
	Value  float64
	HasVal bool
}

// HealthDeltas returns what a reading adds to the health roll-ups: a
// delta for the check itself (Metric "": a check made, failed or not, and
// its latency) and one per named value that is a number. The deltas come in
// a stable order (the check first, then its values by name).
func HealthDeltas(r *health.Reading) []HealthDelta {
	hour := Hour(r.At)
	out := make([]HealthDelta, 0, 1+len(r.Values))
	d := HealthDelta{Key: HealthKey{Server: r.Server, Check: r.Check, Hour: hour}, Checks: 1, Value: r.LatencyMS, HasVal: finite(r.LatencyMS)}
	if !r.OK {
		d.Failed = 1
	}
	out = append(out, d)
	names := make([]string, 0, len(r.Values))
	for name, v := range r.Values {
		if name != "" && finite(v) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, HealthDelta{Key: HealthKey{Server: r.Server, Check: r.Check, Metric: name, Hour: hour}, Value: r.Values[name], HasVal: true})
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Apply adds a delta to the row.
func (h *HealthRow) Apply(d *HealthDelta) {
	h.Checks += d.Checks
	h.Failed += d.Failed
	if !d.HasVal {
		return
	}
	if h.N == 0 || d.Value < h.Min {
		h.Min = d.Value
	}
	if h.N == 0 || d.Value > h.Max {
		h.Max = d.Value
	}
	h.N++
	h.Sum += d.Value
}

// Merge adds o into h (same server, check, metric and hour).
func (h *HealthRow) Merge(o *HealthRow) {
	h.Checks += o.Checks
	h.Failed += o.Failed
	if o.N > 0 {
		if h.N == 0 || o.Min < h.Min {
			h.Min = o.Min
		}
		if h.N == 0 || o.Max > h.Max {
			h.Max = o.Max
		}
	}
	h.N += o.N
	h.Sum += o.Sum
}

// Mean is the named value's mean over the hour; NaN when none was read.
func (h *HealthRow) Mean() float64 {
	if h.N == 0 {
		return nan()
	}
	return h.Sum / float64(h.N)
}
