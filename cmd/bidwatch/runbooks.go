package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/remedy"
)

// runbooksFlags are the flags every `bidwatch runbooks` subcommand takes.
type runbooksFlags struct {
	config, redis, prefix string
	json                  bool
}

// newRunbooksCmd is `bidwatch runbooks`: the automatic remediation's
// runbooks (处置预案), their state, and running one by hand.
func newRunbooksCmd(logger *slog.Logger) *cobra.Command {
	f := &runbooksFlags{}
	cmd := &cobra.Command{
		Use:   "runbooks",
		Short: "List runbooks (处置预案) and their state, run one on an incident, re-enable a suspended one",
		Long: `runbooks works with the runbooks of remedy.runbooks in --config: the steps
the leading watchdog runs at once when an incident matches, checked by the
probes. list shows each with its state (enabled, suspended after two failed
verifications, its last runs); run runs one on an incident now, under the
same guardrails (freeze windows, the hourly limit, dry-run) but the
cooldown; enable re-enables a suspended one. docs/remedy.md describes them.

Exit status: 0 done (for run: verified, or planned with --dry-run), 1 refused
or not fixed, 2 Redis unreachable, 3 usage error.`,
		Example: `  bidwatch runbooks list --config city.yaml
  bidwatch runbooks run restart-media --incident INC-000042 --dry-run --config city.yaml
  bidwatch runbooks enable restart-media --config city.yaml`,
		Args: cobra.NoArgs,
	}
	registerRedisFlags(cmd, &f.config, &f.redis, &f.prefix, "required: the runbooks and redis.url")
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print JSON")
	cmd.AddCommand(newRunbooksListCmd(f, logger), newRunbooksRunCmd(f, logger), newRunbooksEnableCmd(f, logger))
	return cmd
}

// openRunner opens Redis and builds a runner on the config's runbooks (it
// is not started: the command acts once and leaves).
func openRunner(cmd *cobra.Command, f *runbooksFlags, logger *slog.Logger) (*remedy.Runner, *bus.Bus, error) {
	if f.config == "" {
		return nil, nil, &exitError{code: 3, err: errors.New("--config is required: it holds the runbooks")}
	}
	b, c, err := openRedis(cmd.Context(), f.config, f.redis, f.prefix, cmd, logger)
	if err != nil {
		return nil, nil, err
	}
	r, err := remedy.New(remedy.Options{
		City: c, Store: incident.NewRedisStore(b.Client(), b.Prefix(), c.Watchdog.Incidents).WithDurable(b),
		Redis: b.Client(), Prefix: b.Prefix(), Logger: slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelWarn}),
	})
	if err != nil {
		_ = b.Close()
		return nil, nil, &exitError{code: 3, err: err}
	}
	return r, b, nil
}

func newRunbooksListCmd(f *runbooksFlags, logger *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "The runbooks, enabled or suspended, and their last runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, b, err := openRunner(cmd, f, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			sts, err := r.Runbooks(cmd.Context())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if f.json {
				return writeJSONOut(cmd.OutOrStdout(), sts)
			}
			writeRunbooks(cmd.OutOrStdout(), sts)
			return nil
		},
	}
}

// writeRunbooks prints one line per runbook and its last runs under it.
func writeRunbooks(w io.Writer, sts []remedy.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUNBOOK\tSTATE\tFAILURES\tLAST RUN")
	for _, s := range sts {
		state := "enabled"
		switch {
		case !s.Enabled:
			state = "disabled"
		case s.Suspended:
			state = "SUSPENDED: " + s.Reason
		}
		last := "-"
		if len(s.Runs) > 0 {
			r := s.Runs[0]
			last = fmt.Sprintf("%s %s %s", r.At.Local().Format("01-02 15:04:05"), r.Incident, r.Result)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", s.Name, state, s.Failures, last)
	}
	_ = tw.Flush()
}

func newRunbooksRunCmd(f *runbooksFlags, logger *slog.Logger) *cobra.Command {
	var (
		id     string
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "run NAME --incident ID",
		Short: "Run a runbook on an incident now, and wait for its verification",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if id == "" {
				return &exitError{code: 3, err: errors.New("--incident is required")}
			}
			r, b, err := openRunner(cmd, f, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			a, err := r.RunNow(cmd.Context(), args[0], id, dryRun)
			out := cmd.OutOrStdout()
			if f.json && a.Runbook != "" {
				_ = writeJSONOut(out, a)
			} else if a.Runbook != "" {
				writeAttempt(out, a)
			}
			switch {
			case errors.Is(err, remedy.ErrRefused), errors.Is(err, remedy.ErrInactive), errors.Is(err, remedy.ErrUnknownRunbook), errors.Is(err, incident.ErrNotFound):
				return &exitError{code: 1, err: err}
			case err != nil:
				return &exitError{code: 2, err: err}
			case a.State == remedy.AttemptFailed:
				return &exitError{code: 1, err: fmt.Errorf("runbook %s did not fix %s: %s", a.Runbook, a.Incident, a.Reason)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "incident", "", "the incident to run it on (required)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "record what it would do, and do nothing")
	return cmd
}

// writeAttempt prints an attempt: its state and each step.
func writeAttempt(w io.Writer, a remedy.Attempt) {
	fmt.Fprintf(w, "%s on %s: %s", a.Runbook, a.Incident, a.State)
	if a.Reason != "" {
		fmt.Fprintf(w, " — %s", a.Reason)
	}
	fmt.Fprintln(w)
	for _, s := range a.Steps {
		took := ""
		if !s.Ended.IsZero() {
			took = s.Ended.Sub(s.Started).Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, "  %-12s %-8s %-8s %s\n", s.Name, s.Action, took, firstLine(s.Output))
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}

func newRunbooksEnableCmd(f *runbooksFlags, logger *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "enable NAME",
		Short: "Re-enable a runbook suspended after failing twice in a row",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, b, err := openRunner(cmd, f, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			if err := r.Enable(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, remedy.ErrUnknownRunbook) {
					return &exitError{code: 1, err: err}
				}
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "runbook %s enabled\n", args[0])
			return nil
		},
	}
}

// writeJSONOut prints v as indented JSON.
func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
