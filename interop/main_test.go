package interop

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the tests leave no goroutine running: the hall, the
// participants and the harness's process readers all stop.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
