package scenario

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestScenarios runs every scenario file in watchdog/testdata/scenarios on
// simulated time: each must pass, and the whole suite is quick.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("../testdata/scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	began := time.Now()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := Load(f, nil)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			o, err := Run(ctx, s, Options{Debug: os.Getenv("SCENARIO_DEBUG") != ""})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			var b bytes.Buffer
			o.Report(&b, testing.Verbose())
			if !o.Pass {
				t.Errorf("\n%s", b.String())
			} else {
				t.Log("\n" + b.String())
			}
		})
	}
	t.Logf("%d scenarios in %s", len(files), time.Since(began).Round(time.Millisecond))
}
