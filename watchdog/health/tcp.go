package health

import (
	"context"

	"github.com/bidwatch/bidwatch/internal/config"
)

// checkTCP connects to the address: it passes when the connection opens
// within the timeout.
func checkTCP(ctx context.Context, env *Env, c *config.HealthCheck) Reading {
	var r Reading
	start := env.Now()
	conn, err := env.Dialer.DialContext(ctx, "tcp", c.Address)
	r.LatencyMS = since(env, start)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	_ = conn.Close()
	r.OK = true
	return r
}
