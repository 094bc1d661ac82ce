package health

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// Env is what a check may use: an HTTP client, a dialer and the clock.
type Env struct {
	Client *http.Client
	Dialer *net.Dialer
	Now    func() time.Time
}

// CheckFunc runs one check against its target and returns the reading. ctx
// carries the check's timeout. The Runner fills Server, Check, Kind, Target
// and At; a CheckFunc fills OK, Error, LatencyMS, Status, TLSExpiry and
// Values.
type CheckFunc func(ctx context.Context, env *Env, check *config.HealthCheck) Reading

// Kinds returns the registry: a CheckFunc per health-check type. Adding a
// kind is one file with its CheckFunc, one entry here, and its fields in
// config.KnownHealthKinds (a test checks the two lists agree).
func Kinds() map[string]CheckFunc {
	return map[string]CheckFunc{
		config.HealthHTTP:       checkHTTP,
		config.HealthTCP:        checkTCP,
		config.HealthPrometheus: checkPrometheus,
	}
}

// maxBody bounds what a check reads of a response body.
const maxBody = 4 << 20

func since(env *Env, start time.Time) float64 {
	return float64(env.Now().Sub(start)) / float64(time.Millisecond)
}
