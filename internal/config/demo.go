package config

import (
	_ "embed"
	"fmt"
)

// demoYAML is configs/demo.yaml: a test checks the two are identical, and
// `go generate ./internal/config` copies this one over the other.
//
//go:generate cp demo.yaml ../../configs/demo.yaml
//go:embed demo.yaml
var demoYAML []byte

// DemoCity returns the synthetic city the demo and the tests run against:
// configs/demo.yaml, parsed. Its rooms and servers point at the synthetic
// hall on 127.0.0.1:7400. Each call returns a new Config the caller may
// change.
func DemoCity() *Config {
	c, err := Parse(demoYAML)
	if err != nil {
		// Cannot happen in a build whose tests pass: TestDemoCity parses
		// the same bytes.
		panic(fmt.Sprintf("config: embedded demo.yaml is invalid: %v", err))
	}
	return c
}

// DemoYAML returns the text of the demo configuration, configs/demo.yaml.
func DemoYAML() []byte {
	return append([]byte(nil), demoYAML...)
}
