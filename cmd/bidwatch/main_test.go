package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for bidwatch: run with
// BIDWATCH_TEST_MAIN=1 it is the command itself, so end-to-end tests start
// real separate processes (hall, probe agents, watchdog) without building
// anything first.
func TestMain(m *testing.M) {
	if os.Getenv("BIDWATCH_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}
