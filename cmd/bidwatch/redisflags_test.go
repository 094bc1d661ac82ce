package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

// TestPrefixFlagEverywhere: every command that takes --redis takes
// --prefix too.
func TestPrefixFlagEverywhere(t *testing.T) {
	root := newRootCmd(slog.New(slog.DiscardHandler))
	var missing []string
	var visit func(prefix string, cmds []*cobra.Command)
	visit = func(prefix string, cmds []*cobra.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name())
			if c.Flags().Lookup("redis") != nil || c.InheritedFlags().Lookup("redis") != nil {
				if c.Flags().Lookup("prefix") == nil && c.InheritedFlags().Lookup("prefix") == nil {
					missing = append(missing, name)
				}
			}
			visit(name, c.Commands())
		}
	}
	visit("", root.Commands())
	if len(missing) > 0 {
		t.Errorf("commands with --redis but no --prefix: %s", strings.Join(missing, ", "))
	}
}

// TestProbeNowClusterPrefix: `probe now` against a Cluster URL without a
// hash-tagged prefix says which flag to add; with --prefix it goes.
func TestProbeNowClusterPrefix(t *testing.T) {
	code, _, errOut := execute(t, "probe", "now", "hall-1", "--redis", "redis-cluster://127.0.0.1:1")
	if code != 3 || !strings.Contains(errOut, "--prefix '{bidwatch}:'") {
		t.Errorf("exit %d, stderr %q: want the flag to add named", code, errOut)
	}
	if !bustest.Available() {
		return
	}
	c := bustest.StartCluster(t)
	code, out, errOut := execute(t, "probe", "now", "hall-1", "--redis", c.URL(), "--prefix", "{sz}:")
	if code != 0 || !strings.Contains(out, "probe now: hall-1") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
