package main

import (
	"context"
	"fmt"
	"log/slog"
)

// redisLog routes go-redis's own messages (dial failures while Redis is
// away, pool notices) into bidwatch's structured log at debug level: the
// components that use Redis already report its outages as warnings.
type redisLog struct{ logger *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.logger.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
