package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// newRootCmd builds the command tree. Each subcommand lives in its own file.
func newRootCmd(logger *slog.Logger) *cobra.Command {
	var level, format string
	root := &cobra.Command{
		Use:   "bidwatch",
		Short: "Watch remote bid-opening sessions live (不见面开标实时监测)",
		Long: `bidwatch joins remote bid-opening halls and coordination rooms as synthetic
participants, measures the latency, stutter and dropouts a bidder would suffer,
and raises incidents with the contract's SLA deadlines.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			l, err := parseLevel(level)
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			if format != "text" && format != "json" {
				return &exitError{code: 3, err: fmt.Errorf("--log-format: unknown format %q (want text or json)", format)}
			}
			*logger = *newLogger(cmd.ErrOrStderr(), l.String(), format)
			return nil
		},
	}
	root.PersistentFlags().StringVar(&level, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&format, "log-format", "text", "log format: text or json")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: 3, err: err}
	})

	root.AddCommand(
		newVersionCmd(),
		newCheckCmd(logger),
		newHallCmd(logger),
		newConfigCmd(),
		newDemoCmd(logger),
		newProbeCmd(logger),
		newWatchdogCmd(logger),
		newIncidentsCmd(logger),
		newUsersCmd(logger),
		newAlertsCmd(logger),
		newServeAckCmd(logger),
		newConsoleCmd(logger),
		newRunbooksCmd(logger),
		newDrillsCmd(logger),
		newVerifyCmd(logger), newEvidenceCmd(logger),
		newReportCmd(logger),
	)
	return root
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("--log-level: unknown level %q (want debug, info, warn or error)", s)
	}
	return l, nil
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	l, err := parseLevel(level)
	if err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
