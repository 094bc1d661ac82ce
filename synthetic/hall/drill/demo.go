package drill

import (
	_ "embed"
	"fmt"
)

// demoYAML is configs/drill-demo.yaml: a test checks the two are identical,
// and `go generate ./synthetic/hall/drill` copies this one over the other.
//
//go:generate cp demo.yaml ../../../configs/drill-demo.yaml
//go:embed demo.yaml
var demoYAML []byte

// Demo returns the demo's drill script (configs/drill-demo.yaml), parsed:
// drills against the demo city (configs/demo.yaml) seen from yz and gy.
// Each call returns a new Script the caller may change.
func Demo() (*Script, error) {
	s, err := Parse(demoYAML)
	if err != nil {
		return nil, fmt.Errorf("embedded demo drill script: %w", err)
	}
	return s, nil
}

// DemoYAML returns the text of the demo's drill script.
func DemoYAML() []byte {
	return append([]byte(nil), demoYAML...)
}
