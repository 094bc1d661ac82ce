package remedy

import (
	"context"
	"fmt"

	"github.com/bidwatch/bidwatch/internal/config"
)

// runWait waits for the probes to see a step's effect, on the clock, until
// ctx ends.
func runWait(ctx context.Context, env Env, st *config.RunbookStep, _ Data) (string, error) {
	select {
	case <-env.Clock.After(st.WaitProbes):
		return fmt.Sprintf("waited %s", st.WaitProbes), nil
	case <-ctx.Done():
		return "", fmt.Errorf("wait %s: %w", st.WaitProbes, ctx.Err())
	}
}
