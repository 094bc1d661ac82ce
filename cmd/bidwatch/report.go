package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/report"
	"github.com/bidwatch/bidwatch/watchdog/reportsrc"
)

// reportFlags are `bidwatch report`'s flags.
type reportFlags struct {
	config, redis, prefix string
	period, at, from, to  string
	scope, format, output string
}

// newReportCmd is `bidwatch report`: a period report (运维报告) from the
// roll-ups and fault records in Redis, as HTML, CSV or JSON.
func newReportCmd(logger *slog.Logger) *cobra.Command {
	f := &reportFlags{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Make a period report (运维报告: day, week, month, quarter, half, year, or a range of days)",
		Long: `report builds the operations report of a period for the city, a sub-center
or a room, from the roll-ups and fault records the watchdog keeps in Redis:
sessions probed and their outcome, availability as bidders saw it, round
trips (p50/p95/p99), stutter and dropouts, incidents by SLA class with their
compliance, MTTA, MTTR and breaches, automatic remediation, patrol coverage
(日常巡检), server health, the worst rooms, recurring problems, and the change
from the previous period. docs/reports.md describes every figure.

Periods follow the calendar of reports.timezone (default Asia/Shanghai):
weeks begin on Monday, quarters in January, April, July and October, halves
in January and July. --at picks the period holding a date; without it the
report is of the last complete period (yesterday, last week, last month …);
--at today is the period under way, so far. --from and --to give a range of
days instead, both included.

HTML is one printable page (A4, a part a page, charts, a signature block for
the trading center); CSV holds one table per part; JSON every figure. The
format defaults to the extension of -o, else html. A period with nothing to
report (not begun, or no data and no incidents) still gives a report saying
so, and the reason is printed.

Exit status: 0 written (also when there was nothing to report), 2 Redis
unreachable or the file not written, 3 usage error (a bad period, date,
format, or a scope that names no sub-center or room).`,
		Example: `  bidwatch report --config city.yaml --period month -o 2026-11.html
  bidwatch report --config city.yaml --period week --at 2026-12-31 --format csv -o week.csv
  bidwatch report --config city.yaml --period quarter --at today --scope sub-center:gy
  bidwatch report --config city.yaml --from 2026-11-01 --to 2026-11-15 --scope room:yz-hall-1 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReport(cmd, f, logger) },
	}
	registerRedisFlags(cmd, &f.config, &f.redis, &f.prefix, "for the rooms, sub-centers, servers, SLA deadlines, reports.timezone and redis.url")
	fl := cmd.Flags()
	fl.StringVar(&f.period, "period", "month", "period kind: "+strings.Join(report.Kinds, ", "))
	fl.StringVar(&f.at, "at", "", `a date in the period (YYYY-MM-DD, YYYY-MM, YYYY), or "today" for the period under way (default: the last complete period)`)
	fl.StringVar(&f.from, "from", "", "first day of a range (YYYY-MM-DD); with --to, instead of --period")
	fl.StringVar(&f.to, "to", "", "last day of a range (YYYY-MM-DD), included")
	fl.StringVar(&f.scope, "scope", "city", "city, sub-center:<id> or room:<id>")
	fl.StringVar(&f.format, "format", "", "html, csv or json (default: from -o's extension, else html)")
	fl.StringVarP(&f.output, "output", "o", "", "write to this file (default: standard output)")
	return cmd
}

func runReport(cmd *cobra.Command, f *reportFlags, logger *slog.Logger) error {
	format, err := reportFormat(f.format, f.output)
	if err != nil {
		return &exitError{code: 3, err: err}
	}
	now := time.Now()
	ctx := cmd.Context()
	b, c, err := openRedis(ctx, f.config, f.redis, f.prefix, cmd, logger)
	if err != nil {
		return err
	}
	defer b.Close()
	if c == nil {
		c = &config.Config{Watchdog: config.DefaultWatchdog(), Reports: config.DefaultReports()}
	}
	loc := c.Reports.Location()
	kind := f.period
	if f.from != "" || f.to != "" {
		kind = report.KindRange
	}
	period, err := report.PeriodFor(kind, f.at, f.from, f.to, now, loc)
	if err != nil {
		return &exitError{code: 3, err: fmt.Errorf("period: %w", err)}
	}
	if _, err := report.ParseScope(f.scope, c); err != nil {
		return &exitError{code: 3, err: err}
	}
	src, err := reportsrc.New(ctx, reportsrc.Options{Redis: b.Client(), Prefix: b.Prefix(), Config: c, Now: time.Now}, period)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	rep, err := report.Build(ctx, src, report.Request{Period: period, Scope: f.scope, Now: now})
	switch {
	case errors.Is(err, report.ErrUnknownScope):
		return &exitError{code: 3, err: err}
	case err != nil:
		return &exitError{code: 2, err: err}
	}
	var buf bytes.Buffer
	switch format {
	case "html":
		err = rep.WriteHTML(&buf)
	case "csv":
		err = rep.WriteCSV(&buf)
	default:
		err = rep.WriteJSON(&buf)
	}
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := writeOutput(cmd.OutOrStdout(), f.output, buf.Bytes()); err != nil {
		return &exitError{code: 2, err: err}
	}
	stderr := cmd.ErrOrStderr()
	switch {
	case rep.Empty:
		fmt.Fprintf(stderr, "%s: nothing to report — %s\n", rep.Title, rep.Notice)
	case f.output != "":
		s := rep.Summary
		fmt.Fprintf(stderr, "wrote %s: %s — %s, availability %s, %s (%d breached)\n",
			f.output, rep.Title, reportCount(s.Sessions, "session"), pctText(s.Availability), reportCount(s.Incidents, "incident"), s.Breaches)
		if rep.Notice != "" {
			fmt.Fprintln(stderr, rep.Notice)
		}
	}
	return nil
}

// reportFormat picks the output format from --format or -o's extension.
func reportFormat(format, output string) (string, error) {
	if format == "" {
		switch strings.ToLower(filepath.Ext(output)) {
		case ".csv":
			return "csv", nil
		case ".json":
			return "json", nil
		}
		return "html", nil
	}
	switch format {
	case "html", "csv", "json":
		return format, nil
	}
	return "", fmt.Errorf("--format: %q is not a format: html, csv or json", format)
}

// writeOutput writes data to the file (whole or not at all: through a
// temporary file renamed into place), or to w when file is "".
func writeOutput(w io.Writer, file string, data []byte) error {
	if file == "" {
		_, err := w.Write(data)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}

func pctText(n report.Num) string {
	if !n.Valid() {
		return "—"
	}
	return fmt.Sprintf("%.3f%%", float64(n)*100)
}

// reportCount says n things: "1 session", "3 sessions".
func reportCount(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
