package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/scenario"
)

// newWatchdogTestCmd is `bidwatch watchdog test`: scenario files on
// simulated time, like promtool test rules.
func newWatchdogTestCmd(*slog.Logger) *cobra.Command {
	var (
		file           string
		verbose, debug bool
	)
	cmd := &cobra.Command{
		Use:   "test FILE…",
		Short: "Check a city's topology and thresholds against scenario files, on simulated time",
		Long: `test runs scenario files through the watchdog's own decisions — the
detectors, correlation and incident planning — on simulated time, and checks
the incidents they make against the ones each file expects: cause, rooms,
place, when opened and resolved, merges, relapses. A city tests its own
topology and thresholds this way before an opening, in the spirit of
promtool test rules. Nothing is dialled and nothing is stored: ten simulated
minutes take a fraction of a second.

A scenario names its city (` + "`city: demo`" + ` or a config file next to it) —
or --config gives the city for every file — the probes per location, a
timeline of faults (a server saturated or down, a location's network path or
a site's uplink congested or cut, a room's own trouble, a probe silent or
alone in trouble) and of people's actions, and the incidents expected. The
format is in docs/watchdog.md; examples are in watchdog/testdata/scenarios.

A scenario that fails prints the expected and actual incidents side by side,
and what the watchdog did when.

Exit status: 0 every scenario passed, 1 some failed, 3 a file could not be
read or is invalid.`,
		Example: `  bidwatch watchdog test watchdog/testdata/scenarios/*.yaml
  bidwatch watchdog test --config city.yaml drills/*.yaml -v`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var city *config.Config
			if file != "" {
				c, err := loadCityConfig(file)
				if err != nil {
					return err
				}
				city = c
			}
			var files []string
			for _, a := range args {
				m, err := filepath.Glob(a)
				if err != nil || len(m) == 0 {
					m = []string{a}
				}
				files = append(files, m...)
			}
			var outs []*scenario.Outcome
			var bad []error
			for _, f := range files {
				s, err := scenario.Load(f, city)
				if err != nil {
					bad = append(bad, fmt.Errorf("%s:\n%w", f, err))
					continue
				}
				o, err := scenario.Run(cmd.Context(), s, scenario.Options{Debug: debug})
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("%s: %w", f, err)}
				}
				outs = append(outs, o)
			}
			failed := 0
			for _, o := range outs {
				o.Report(cmd.OutOrStdout(), verbose || debug)
				if !o.Pass {
					failed++
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d passed, %d failed", len(outs)-failed, failed)
			if len(bad) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), ", %d invalid", len(bad))
			}
			fmt.Fprintln(cmd.OutOrStdout())
			switch {
			case len(bad) > 0:
				return &exitError{code: 3, err: errors.Join(bad...)}
			case failed > 0:
				return &exitError{code: 1, err: fmt.Errorf("%d of %d scenarios failed", failed, len(outs))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "the city (topology and watchdog section) for every scenario, instead of each file's city:")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every scenario's incidents and what happened, not only failures")
	cmd.Flags().BoolVar(&debug, "debug", false, "also trace every change in the problems the watchdog saw")
	return cmd
}
