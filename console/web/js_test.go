package web

import (
	"os/exec"
	"strings"
	"testing"
)

// TestJS runs the UI's JavaScript tests (jstest/) with node's test runner:
// formatting, the state the live feed fills, countdowns, the record's
// words. Skipped where node is not installed.
func TestJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	// The app's modules are .js files without a package.json: tell node
	// they are ES modules.
	cmd := exec.Command(node, "--experimental-default-type=module", "--test", "jstest/")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "bad option") {
			t.Skipf("this node is too old for the tests: %s", strings.TrimSpace(string(out)))
		}
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("node --test:\n%s", out)
	}
}
