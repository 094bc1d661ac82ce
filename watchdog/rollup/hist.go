package rollup

import "math"

// Histogram buckets: bucket 0 holds values under HistMin; bucket i ≥ 1 holds
// [HistMin·HistGrowth^(i-1), HistMin·HistGrowth^i); the last bucket holds
// everything from HistMin·HistGrowth^(HistBuckets-2) up. Each bucket is 10 %
// wide, so a quantile read from a histogram is within one bucket (10 %) of
// the true value, however many histograms were merged into it.
const (
	HistMin     = 0.5 // ms
	HistGrowth  = 1.1
	HistBuckets = 132 // up to 0.5 ms · 1.1^130 ≈ 120 s
)

var logGrowth = math.Log(HistGrowth)

// Hist is a mergeable histogram of millisecond values (round-trip times),
// with fixed log-scaled buckets: merging is adding counts.
type Hist [HistBuckets]int64

// Bucket returns the bucket v falls in.
func Bucket(v float64) int {
	if !(v >= HistMin) { // also NaN
		return 0
	}
	i := int(math.Floor(math.Log(v/HistMin)/logGrowth)) + 1
	return min(max(i, 1), HistBuckets-1)
}

// BucketBounds returns the values bucket i holds, [lo, hi).
func BucketBounds(i int) (lo, hi float64) {
	switch {
	case i <= 0:
		return 0, HistMin
	case i >= HistBuckets-1:
		return HistMin * math.Pow(HistGrowth, float64(HistBuckets-2)), math.Inf(1)
	}
	return HistMin * math.Pow(HistGrowth, float64(i-1)), HistMin * math.Pow(HistGrowth, float64(i))
}

// Add counts the value v once.
func (h *Hist) Add(v float64) { h[Bucket(v)]++ }

// Merge adds o's counts to h.
func (h *Hist) Merge(o *Hist) {
	for i, n := range o {
		h[i] += n
	}
}

// Count returns how many values h holds.
func (h *Hist) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of the values in h: the
// geometric middle of the bucket holding the value of rank ⌈q·n⌉ (nearest
// rank), so within one bucket of the true value. It returns NaN when h is
// empty.
func (h *Hist) Quantile(q float64) float64 {
	n := h.Count()
	if n == 0 {
		return math.NaN()
	}
	rank := int64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	var seen int64
	for i, c := range h {
		seen += c
		if seen >= rank {
			lo, hi := BucketBounds(i)
			switch {
			case i == 0:
				return HistMin / 2
			case math.IsInf(hi, 1):
				return lo
			}
			return math.Sqrt(lo * hi)
		}
	}
	return math.NaN() // not reached
}
