package synthetic

import (
	"testing"
	"time"
)

func TestBackoffBoundedAndGrowing(t *testing.T) {
	min, max := 250*time.Millisecond, 4*time.Second
	for n := 1; n <= 20; n++ {
		nominal := min << (n - 1)
		if n > 5 || nominal > max {
			nominal = max
		}
		for range 50 {
			d := Backoff(n, min, max)
			if d < nominal/2 || d > nominal {
				t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, nominal/2, nominal)
			}
		}
	}
}
