package synthetic

import (
	"slices"
	"time"
)

// MedianMax returns the median and the maximum of ds in milliseconds; it
// sorts ds in place. ds must not be empty.
func MedianMax(ds []time.Duration) (median, max float64) {
	slices.Sort(ds)
	n := len(ds)
	m := ds[n/2]
	if n%2 == 0 {
		m = (ds[n/2-1] + ds[n/2]) / 2
	}
	return MS(m), MS(ds[n-1])
}

// MS converts a duration to float milliseconds, the unit of a Sample's
// figures.
func MS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
