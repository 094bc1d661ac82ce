package rollup

import (
	"math"

	"github.com/bidwatch/bidwatch/internal/sample"
)

func nan() float64 { return math.NaN() }

func transport(s string) sample.Transport { return sample.Transport(s) }
