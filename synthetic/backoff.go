package synthetic

import (
	"math/rand/v2"
	"time"
)

// Backoff is the delay before reconnect attempt n (1-based): exponential from
// min, capped at max, with "equal jitter" — half fixed, half random — so a
// room full of participants dropped at once does not reconnect in lockstep,
// and no attempt comes sooner than half the nominal delay.
func Backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(half+1)
}
