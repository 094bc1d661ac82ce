package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/drills"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// drillsFlags are the flags every `bidwatch drills` subcommand takes.
type drillsFlags struct {
	config, redis, prefix string
}

// newDrillsCmd is `bidwatch drills`: the recorded emergency drills and
// their reports.
func newDrillsCmd(logger *slog.Logger) *cobra.Command {
	f := &drillsFlags{}
	cmd := &cobra.Command{
		Use:   "drills",
		Short: "List recorded emergency drills (应急演练) and write their scored reports",
		Long: `drills works with the emergency drills recorded in Redis: a drill script
played by "bidwatch hall --drill FILE" with a Redis, or by "bidwatch demo".
list prints the runs; report scores one against the incidents the watchdog
raised — detected, alerted, acknowledged and mitigated after how long,
against the targets of reports.drill in --config and each incident's SLA
deadline — and says what went wrong. docs/drills.md explains the scoring.

The Redis comes from --redis, or redis.url (and redis.prefix) in --config.

Exit status: 0 done, 1 no such run (or none recorded), 2 Redis unreachable
or a file not written, 3 usage error.`,
		Example: `  bidwatch drills list --redis redis://127.0.0.1:6379
  bidwatch drills report --config city.yaml -o drill.html
  bidwatch drills report 20261203-091500-3f2a --format csv -o drill.csv --redis redis://127.0.0.1:6379`,
		Args: cobra.NoArgs,
	}
	registerRedisFlags(cmd, &f.config, &f.redis, &f.prefix, "for redis.url, redis.prefix, reports.drill and reports.timezone")
	cmd.AddCommand(newDrillsListCmd(f, logger), newDrillsReportCmd(f, logger))
	return cmd
}

func newDrillsListCmd(f *drillsFlags, logger *slog.Logger) *cobra.Command {
	var (
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the recorded drill runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, c, err := openRedis(cmd.Context(), f.config, f.redis, f.prefix, cmd, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			runs, err := drills.NewStore(b.Client(), b.Prefix()).List(cmd.Context(), limit)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(runs)
			}
			if len(runs) == 0 {
				fmt.Fprintln(out, "no drill recorded yet (bidwatch hall --drill FILE --redis URL records one)")
				return nil
			}
			printRuns(out, runs, reportsOf(c).Location())
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "list at most this many (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printRuns prints one line per run.
func printRuns(out io.Writer, runs []drills.Run, loc *time.Location) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tSTATE\tDRILLS\tNOT INJECTED\tSCRIPT")
	for _, r := range runs {
		failed, started := 0, 0
		for _, d := range r.Drills {
			if d.Started() {
				started++
				if !d.Injected() {
					failed++
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%s\n", r.ID, r.StartedAt.In(loc).Format("2006-01-02 15:04:05"), r.State, started, len(r.Drills), failed, r.Script)
	}
	_ = tw.Flush()
}

// reportsOf is the reports section of the config, or its defaults.
func reportsOf(c *config.Config) *config.Reports {
	if c != nil {
		return &c.Reports
	}
	r := config.DefaultReports()
	return &r
}

func newDrillsReportCmd(f *drillsFlags, logger *slog.Logger) *cobra.Command {
	var (
		format, output string
		grace          time.Duration
	)
	cmd := &cobra.Command{
		Use:   "report [RUN]",
		Short: "Score a drill run and write its report (default: the latest run)",
		Long: `report scores a recorded drill run (the latest without RUN) against the
incidents in Redis and writes the drill report: printable HTML (A4, Chinese,
with a signature block), JSON or CSV. An incident counts as a drill's when it
opened (or reopened) while the drill's faults held, or within --grace after
they were cleared, about a place they touch.`,
		Example: `  bidwatch drills report --config city.yaml -o drill.html
  bidwatch drills report 20261203-091500-3f2a --format json --redis redis://127.0.0.1:6379`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "html" && format != "json" && format != "csv" {
				return &exitError{code: 3, err: fmt.Errorf("--format %q: want html, json or csv", format)}
			}
			if grace < 0 {
				return &exitError{code: 3, err: fmt.Errorf("--grace %s: must not be negative", grace)}
			}
			ctx := cmd.Context()
			b, c, err := openRedis(ctx, f.config, f.redis, f.prefix, cmd, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			store := drills.NewStore(b.Client(), b.Prefix())
			var run drills.Run
			if len(args) == 1 {
				run, err = store.Get(ctx, args[0])
			} else {
				run, err = store.Latest(ctx)
			}
			switch {
			case errors.Is(err, drills.ErrNotFound):
				return &exitError{code: 1, err: err}
			case err != nil:
				return &exitError{code: 2, err: err}
			}
			policy := config.DefaultWatchdog().Incidents
			if c != nil {
				policy = c.Watchdog.Incidents
			}
			now := time.Now()
			incs, err := drills.Incidents(ctx, incident.NewRedisStore(b.Client(), b.Prefix(), policy), &run, grace, now)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			rep := reportsOf(c)
			sc := drills.Score(run, incs, rep.Drill, grace, now)
			return writeDrillReport(cmd, &sc, format, output, rep.Location())
		},
	}
	cmd.Flags().StringVar(&format, "format", "html", "html, json or csv")
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write (default stdout)")
	cmd.Flags().DurationVar(&grace, "grace", drills.DefaultGrace, "how long after a drill's faults are cleared an incident that opens is still the drill's")
	return cmd
}

// writeDrillReport writes the scorecard in a format to a file or stdout.
func writeDrillReport(cmd *cobra.Command, sc *drills.Scorecard, format, output string, loc *time.Location) error {
	out := cmd.OutOrStdout()
	var file *os.File
	if output != "" && output != "-" {
		var err error
		if file, err = os.Create(output); err != nil {
			return &exitError{code: 2, err: err}
		}
		out = file
	}
	var err error
	switch format {
	case "html":
		err = sc.WriteHTML(out, loc)
	case "json":
		err = sc.WriteJSON(out)
	case "csv":
		err = sc.WriteCSV(out)
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "drill run %s: score %d (%s), written to %s\n", sc.Run.ID, sc.Score, sc.Grade, output)
		}
	}
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	return nil
}
