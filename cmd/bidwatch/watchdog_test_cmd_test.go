package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWatchdogTestCommand: a scenario that holds passes (exit 0), one whose
// expectation is wrong fails with the expected and actual incidents side by
// side (exit 1), an invalid one names the YAML path (exit 3).
func TestWatchdogTestCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const faults = `duration: 3m
faults:
  - {at: 1m, for: 20s, room: yz-hall-1, drop: true}
`
	good := write("good.yaml", "name: a room drops its bidders\n"+faults+`expect:
  - {cause: room, subject: yz-hall-1, rooms: [yz-hall-1], opened: [1m, 1m05s]}
`)
	wrong := write("wrong.yaml", "name: blamed on the wrong thing\n"+faults+`expect:
  - {cause: server, subject: yz-wsgw-1}
`)
	bad := write("bad.yaml", "name: typo\nduration: 3m\nfaults:\n  - {at: 1m, room: yz-hall-9, rtt: 1s}\nexpect: []\n")

	code, out, errOut := execute(t, "watchdog", "test", good)
	if code != 0 || !strings.Contains(out, "PASS") || !strings.Contains(out, "1 passed, 0 failed") {
		t.Fatalf("good: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = execute(t, "watchdog", "test", good, wrong)
	if code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "server yz-wsgw-1") ||
		!strings.Contains(out, "room yz-hall-1") || !strings.Contains(out, "what happened") {
		t.Fatalf("wrong: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = execute(t, "watchdog", "test", bad)
	if code != 3 || !strings.Contains(errOut, `faults[0].room: unknown room "yz-hall-9"`) {
		t.Fatalf("bad: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = execute(t, "watchdog", "test", "--config", "../../configs/demo.yaml", filepath.Join("..", "..", "watchdog", "testdata", "scenarios", "server-saturated.yaml"))
	if code != 0 {
		t.Fatalf("with --config: exit %d\n%s%s", code, out, errOut)
	}
}
