package dispatch

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// TestBackoff: initial, doubling per failure, capped at max, times a
// jitter factor in [0.8, 1.2).
func TestBackoff(t *testing.T) {
	std := config.DispatchRetry{Initial: time.Second, Max: 5 * time.Minute}
	fixed := func(x float64) func() float64 { return func() float64 { return x } }
	tests := []struct {
		name     string
		r        config.DispatchRetry
		attempts int
		rnd      float64
		want     time.Duration
	}{
		{"first failure: initial", std, 1, 0.5, time.Second},
		{"no failure yet: initial", std, 0, 0.5, time.Second},
		{"second: doubled", std, 2, 0.5, 2 * time.Second},
		{"third: doubled again", std, 3, 0.5, 4 * time.Second},
		{"ninth: 256 s", std, 9, 0.5, 256 * time.Second},
		{"tenth: capped at max", std, 10, 0.5, 5 * time.Minute},
		{"many: still max, no overflow", std, 10_000, 0.5, 5 * time.Minute},
		{"jitter low end: 0.8×", std, 3, 0, 3200 * time.Millisecond},
		{"jitter 0.25: 0.9×", std, 3, 0.25, 3600 * time.Millisecond},
		{"jitter low end at the cap", std, 20, 0, 4 * time.Minute},
		{"max not a doubling of initial: capped exactly", config.DispatchRetry{Initial: time.Second, Max: 3 * time.Second}, 3, 0.5, 3 * time.Second},
		{"initial equal to max", config.DispatchRetry{Initial: time.Minute, Max: time.Minute}, 5, 0.5, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Backoff(tt.r, tt.attempts, fixed(tt.rnd)); got != tt.want {
				t.Errorf("Backoff(attempts %d, rnd %v) = %s, want %s", tt.attempts, tt.rnd, got, tt.want)
			}
		})
	}
	t.Run("jitter stays within ±20 %", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for a := 1; a <= 40; a++ {
			base := min(std.Initial<<min(a-1, 30), std.Max)
			lo, hi := time.Duration(float64(base)*0.8), time.Duration(float64(base)*1.2)
			for _, rnd := range []float64{0, 0.5, 0.999999, rng.Float64(), rng.Float64()} {
				got := Backoff(std, a, fixed(rnd))
				if got < lo || got >= hi {
					t.Errorf("attempt %d, rnd %v: %s outside [%s, %s)", a, rnd, got, lo, hi)
				}
			}
		}
	})
}
