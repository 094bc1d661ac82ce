package remedy

import (
	"encoding/json"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// echoEnv switches the test binary into an argv echo: a command step's
// tests run it as the program, to see the arguments exactly as they came.
const echoEnv = "REMEDY_TEST_ECHO_ARGS"

func TestMain(m *testing.M) {
	if os.Getenv(echoEnv) == "1" {
		_ = json.NewEncoder(os.Stdout).Encode(os.Args[1:])
		if os.Getenv("REMEDY_TEST_EXIT") == "3" {
			os.Exit(3)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
