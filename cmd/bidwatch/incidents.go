package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/evidence"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// registerRedisFlags adds the flags that name the Redis a command works on:
// --config for redis.url and redis.prefix, --redis and --prefix to override
// them.
func registerRedisFlags(cmd *cobra.Command, config, redis, prefix *string, configUse string) {
	pf := cmd.PersistentFlags()
	pf.StringVar(config, "config", "", "bidwatch config file ("+configUse+")")
	pf.StringVar(redis, "redis", "", "Redis URL (overrides redis.url)")
	addPrefixFlag(pf, prefix)
}

// incidentsFlags are the flags every `bidwatch incidents` subcommand takes.
type incidentsFlags struct {
	config, redis, prefix string
	json                  bool
}

// newIncidentsCmd is `bidwatch incidents`: the incident workflow and fault
// records from a terminal.
func newIncidentsCmd(logger *slog.Logger) *cobra.Command {
	f := &incidentsFlags{}
	cmd := &cobra.Command{
		Use:   "incidents",
		Short: "List, handle, sign off and export incidents (fault records, 故障记录)",
		Long: `incidents works with the incidents the watchdog keeps in Redis: list and show
them, acknowledge (确认接单), mark mitigated, add notes, resolve (排除), have the
trading center sign them off (中心签字认可), and export the fault records of a
period as CSV or JSON. Every action is recorded in the incident's timeline
with who did it and when. A signed-off record is frozen: later changes are
refused (exit status 1). docs/incidents.md describes the record.

Actions are done as a console user: give the user's API token (an admin
makes one with "bidwatch users token NAME") in --token-file FILE or in
$BIDWATCH_TOKEN. The user's role must allow the action: operator for ack,
mitigate, note, resolve and class, supervisor for signoff. The timeline
records the user as "display name (name)". list, show and export need no
token.

The Redis comes from --redis, or redis.url (and redis.prefix) in --config;
--config also gives the SLA deadlines used when reclassifying.

Exit status: 0 done, 1 refused (no such incident, not allowed in its state,
signed off; no token, an unknown or revoked one, a disabled user, a role
that may not), 2 Redis unreachable or a file not written, 3 usage error.`,
		Example: `  bidwatch incidents list --redis redis://10.0.0.5:6379
  bidwatch incidents show INC-000042 --config city.yaml
  bidwatch incidents ack INC-000042 --token-file ~/.bidwatch-token --note "on my way to the gateway"
  BIDWATCH_TOKEN=$(cat ~/.bidwatch-token) bidwatch incidents resolve INC-000042 --result "gateway restarted"
  bidwatch incidents signoff INC-000042 --token-file /etc/bidwatch/li.token
  bidwatch incidents export --from 2026-11-01 --to 2026-12-01 --format csv -o 2026-11.csv`,
		Args: cobra.NoArgs,
	}
	registerRedisFlags(cmd, &f.config, &f.redis, &f.prefix, "for redis.url, redis.prefix and the SLA deadlines")
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print JSON")
	cmd.AddCommand(
		newIncidentsListCmd(f, logger),
		newIncidentsShowCmd(f, logger),
		newIncidentActionCmd(f, logger, incident.ActAcknowledge, "ack ID", "Acknowledge an incident (确认接单)"),
		newIncidentActionCmd(f, logger, incident.ActMitigate, "mitigate ID", "Mark an incident mitigated: the symptom is contained, the cause not yet fixed"),
		newIncidentActionCmd(f, logger, incident.ActNote, "note ID TEXT…", "Add a note to an incident's timeline"),
		newIncidentActionCmd(f, logger, incident.ActResolve, "resolve ID", "Resolve an incident (排除), with its result"),
		newIncidentActionCmd(f, logger, incident.ActSignOff, "signoff ID", "Sign a resolved incident off for the trading center (中心签字认可); freezes the record"),
		newIncidentActionCmd(f, logger, incident.ActReclassify, "class ID CLASS", "Set an incident's SLA class (minor, partial, outage, major) and so its deadline"),
		newIncidentsExportCmd(f, logger),
	)
	return cmd
}

// openIncidentStore opens the store the flags name. The caller closes the
// bus.
func openIncidentStore(ctx context.Context, f *incidentsFlags, cmd *cobra.Command, logger *slog.Logger) (*incident.RedisStore, *bus.Bus, error) {
	b, c, err := openRedis(ctx, f.config, f.redis, f.prefix, cmd, logger)
	if err != nil {
		return nil, nil, err
	}
	policy := config.DefaultWatchdog().Incidents
	if c != nil {
		policy = c.Watchdog.Incidents
	}
	return incident.NewRedisStore(b.Client(), b.Prefix(), policy).WithDurable(b), b, nil
}

// openRedis opens and pings the bus that --config (configFile), --redis
// and --prefix name, and returns the config (nil without one). The caller
// closes the bus.
func openRedis(ctx context.Context, configFile, redisURL, redisPrefix string, cmd *cobra.Command, logger *slog.Logger) (*bus.Bus, *config.Config, error) {
	var c *config.Config
	if configFile != "" {
		var err error
		if c, err = loadCityConfig(configFile); err != nil {
			return nil, nil, err
		}
	}
	bo := busOptions(cmd, c, redisURL, redisPrefix)
	bo.Logger = slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelWarn})
	if bo.URL == "" {
		return nil, nil, &exitError{code: 3, err: errors.New("no Redis: give --redis URL or a --config with redis.url (an embedded Redis lives inside one process and cannot be reached from here)")}
	}
	b, err := bus.Open(ctx, bo)
	if err != nil {
		return nil, nil, &exitError{code: 3, err: err}
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.Ping(pctx); err != nil {
		_ = b.Close()
		return nil, nil, &exitError{code: 2, err: err}
	}
	return b, c, nil
}

// storeError maps a store error to an exit code.
func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, incident.ErrNotFound), errors.Is(err, incident.ErrFrozen), errors.Is(err, incident.ErrTransition), errors.Is(err, incident.ErrMerged):
		return &exitError{code: 1, err: err}
	case errors.Is(err, incident.ErrBadAction):
		return &exitError{code: 3, err: err}
	}
	return &exitError{code: 2, err: err}
}

func newIncidentsListCmd(f *incidentsFlags, logger *slog.Logger) *cobra.Command {
	var (
		all    bool
		states []string
		since  string
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List incidents: by default those not yet resolved",
		Long: `list prints one line per incident: id, state, SLA class, cause and subject,
rooms, when it opened, and its deadline with the time left (or BREACHED).
By default it lists the incidents not yet resolved; --all lists every one,
--state narrows to states, --since to those opened since a time.`,
		Example: `  bidwatch incidents list --redis redis://127.0.0.1:6379
  bidwatch incidents list --all --since 24h --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter := incident.Filter{Limit: limit}
			for _, s := range states {
				st := incident.State(s)
				if !slices.Contains(incident.States, st) {
					return &exitError{code: 3, err: fmt.Errorf("--state %q: want one of %s", s, joinStates())}
				}
				filter.States = append(filter.States, st)
			}
			if !all && len(filter.States) == 0 {
				filter.States = []incident.State{incident.StateOpen, incident.StateAcknowledged, incident.StateMitigated}
			}
			if since != "" {
				t, err := parseWhen(since, time.Now())
				if err != nil {
					return &exitError{code: 3, err: fmt.Errorf("--since: %w", err)}
				}
				filter.From = t
			}
			store, b, err := openIncidentStore(cmd.Context(), f, cmd, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			incs, err := store.List(cmd.Context(), filter)
			if err != nil {
				return storeError(err)
			}
			slices.Reverse(incs) // newest first
			now := time.Now()
			if f.json {
				return writeJSONRecords(cmd.OutOrStdout(), incs, now)
			}
			return incident.WriteTable(cmd.OutOrStdout(), incs, now, time.Local)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "list incidents in every state")
	cmd.Flags().StringSliceVar(&states, "state", nil, "only these states: "+joinStates())
	cmd.Flags().StringVar(&since, "since", "", "only incidents opened since: a duration ago (24h) or a time (2026-11-01, RFC 3339)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many, the newest")
	return cmd
}

func joinStates() string {
	var s []string
	for _, st := range incident.States {
		s = append(s, string(st))
	}
	return strings.Join(s, ", ")
}

func newIncidentsShowCmd(f *incidentsFlags, logger *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an incident's full fault record and timeline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, b, err := openIncidentStore(cmd.Context(), f, cmd, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			inc, err := store.Get(cmd.Context(), args[0])
			if err != nil {
				return storeError(err)
			}
			if f.json {
				return writeJSONRecords(cmd.OutOrStdout(), []incident.Incident{inc}, time.Now())
			}
			return incident.WriteRecord(cmd.OutOrStdout(), inc, time.Now(), time.Local)
		},
	}
}

// newIncidentActionCmd builds ack, mitigate, note, resolve, signoff and
// class: one action on one incident, done as the console user whose API
// token the command is given.
func newIncidentActionCmd(f *incidentsFlags, logger *slog.Logger, kind incident.ActionKind, use, short string) *cobra.Command {
	var text, tokenFile, by string
	args := cobra.ExactArgs(1)
	switch kind {
	case incident.ActNote:
		args = cobra.MinimumNArgs(2)
	case incident.ActReclassify:
		args = cobra.ExactArgs(2)
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("by") {
				return &exitError{code: 3, err: errors.New("--by is gone: act as a user with an API token (bidwatch users token NAME), given with --token-file FILE or $BIDWATCH_TOKEN")}
			}
			token, err := readAPIToken(tokenFile)
			if err != nil {
				return err
			}
			a := incident.Action{Kind: kind, At: time.Now(), Text: text}
			switch kind {
			case incident.ActNote:
				a.Text = strings.Join(args[1:], " ")
			case incident.ActReclassify:
				a.Class = vocab.Class(args[1])
			}
			store, b, err := openIncidentStore(cmd.Context(), f, cmd, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			u, err := actingUser(cmd.Context(), auth.NewStore(b.Client(), b.Prefix()), token, authAction(kind))
			if err != nil {
				return err
			}
			a.Actor = u.Actor()
			inc, err := store.Act(cmd.Context(), args[0], a)
			if err != nil {
				return storeError(err)
			}
			if f.json {
				return writeJSONRecords(cmd.OutOrStdout(), []incident.Incident{inc}, time.Now())
			}
			last := inc.Timeline[len(inc.Timeline)-1]
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %s (%s, by %s)\n", inc.ID, inc.State, last.Text, last.Kind, last.Actor)
			return nil
		},
	}
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the API token of the user to act as (default $"+tokenEnv+")")
	cmd.Flags().StringVar(&by, "by", "", "gone: act as a user with an API token")
	_ = cmd.Flags().MarkHidden("by")
	switch kind {
	case incident.ActResolve:
		cmd.Flags().StringVar(&text, "result", "", "the result (处置结果): what was done and how it ended")
	case incident.ActAcknowledge, incident.ActMitigate, incident.ActSignOff, incident.ActReclassify:
		cmd.Flags().StringVar(&text, "note", "", "words to go with it in the timeline")
	}
	return cmd
}

// tokenEnv holds an API token when --token-file does not.
const tokenEnv = "BIDWATCH_TOKEN"

// readAPIToken reads the API token from a file or else $BIDWATCH_TOKEN.
func readAPIToken(file string) (string, error) {
	token := os.Getenv(tokenEnv)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", &exitError{code: 1, err: fmt.Errorf("--token-file: %w", err)}
		}
		token = string(b)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", &exitError{code: 1, err: errors.New("this acts as a console user: give --token-file FILE or set " + tokenEnv + " to the user's API token (an admin makes one with: bidwatch users token NAME)")}
	}
	return token, nil
}

// actingUser is the user an API token acts as, if that user may do a.
func actingUser(ctx context.Context, users *auth.Store, token string, a auth.Action) (auth.User, error) {
	u, err := users.TokenUser(ctx, token)
	switch {
	case errors.Is(err, auth.ErrBadToken):
		return auth.User{}, &exitError{code: 1, err: errors.New("the API token is unknown or revoked: ask an admin for a new one (bidwatch users token NAME)")}
	case errors.Is(err, auth.ErrDisabled):
		return auth.User{}, &exitError{code: 1, err: fmt.Errorf("the API token's user is disabled (%w)", err)}
	case err != nil:
		return auth.User{}, &exitError{code: 2, err: err}
	}
	if !auth.Allowed(u.Role, a) {
		min, _ := auth.MinRole(a)
		return auth.User{}, &exitError{code: 1, err: fmt.Errorf("%s is %s: %s needs %s or above", u.Actor(), u.Role, a, min)}
	}
	return u, nil
}

// authAction is the console action an incident action is.
func authAction(kind incident.ActionKind) auth.Action {
	switch kind {
	case incident.ActAcknowledge:
		return auth.ActionAck
	case incident.ActNote:
		return auth.ActionNote
	case incident.ActMitigate:
		return auth.ActionMitigate
	case incident.ActResolve:
		return auth.ActionResolve
	case incident.ActSignOff:
		return auth.ActionSignOff
	case incident.ActReclassify:
		return auth.ActionClass
	}
	return auth.Action(kind) // allowed to nobody
}

// currentUser is the login name, for commands that record who did
// something without a console user (bidwatch alerts silence).
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if s := os.Getenv("USER"); s != "" {
		return s
	}
	return "operator"
}

func newIncidentsExportCmd(f *incidentsFlags, logger *slog.Logger) *cobra.Command {
	var from, to, format, output string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export the fault records of a period as CSV or JSON",
		Long: `export writes every incident opened in [--from, --to) — each a fault record:
time, place, phenomenon with figures, suspected cause, handling process
(the whole timeline), result and handling time — as CSV (one row each, the
timeline in one cell) or JSON (an array). --from defaults to 30 days ago,
--to to now. docs/incidents.md lists the columns. The export carries the
evidence chain's head (CSV: a first comment line "# bidwatch evidence
head n=… hash=…"; JSON: each record's seal and evidence_head), for
bidwatch verify (docs/evidence.md).`,
		Example: `  bidwatch incidents export --from 2026-11-01 --to 2026-12-01 --format csv -o 2026-11.csv
  bidwatch incidents export --from 168h --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			var filter incident.Filter
			var err error
			if filter.From, err = parseWhen(orDefaultString(from, "720h"), now); err != nil {
				return &exitError{code: 3, err: fmt.Errorf("--from: %w", err)}
			}
			if to != "" {
				if filter.To, err = parseWhen(to, now); err != nil {
					return &exitError{code: 3, err: fmt.Errorf("--to: %w", err)}
				}
			}
			if format != "csv" && format != "json" {
				return &exitError{code: 3, err: fmt.Errorf("--format %q: want csv or json", format)}
			}
			store, b, err := openIncidentStore(cmd.Context(), f, cmd, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			incs, err := store.List(cmd.Context(), filter)
			if err != nil {
				return storeError(err)
			}
			// Each record carries its evidence seal and the chain head
			// (docs/evidence.md): bidwatch verify checks them.
			sealed, err := incident.ReadSeals(cmd.Context(), evidence.NewChain(b.Client(), b.Prefix()), incs)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			out := cmd.OutOrStdout()
			var file *os.File
			if output != "" && output != "-" {
				if file, err = os.Create(output); err != nil {
					return &exitError{code: 2, err: err}
				}
				out = file
			}
			if format == "csv" {
				err = incident.WriteSealedCSV(out, incs, now, sealed)
			} else {
				err = incident.WriteSealedJSON(out, incs, now, sealed)
			}
			if file != nil {
				if cerr := file.Close(); err == nil {
					err = cerr
				}
				if err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%d incidents written to %s\n", len(incs), output)
				}
			}
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start of the period: a time (2026-11-01, RFC 3339) or a duration ago (720h)")
	cmd.Flags().StringVar(&to, "to", "", "end of the period, exclusive (default now)")
	cmd.Flags().StringVar(&format, "format", "csv", "csv or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write (default stdout)")
	return cmd
}

func orDefaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// parseWhen reads a time: RFC 3339, a date or date and time in local time,
// or a duration before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want a time (2026-11-01, 2026-11-01 09:30, RFC 3339) or a duration ago (24h)", s)
}

func writeJSONRecords(out io.Writer, incs []incident.Incident, now time.Time) error {
	if err := incident.WriteJSON(out, incs, now); err != nil {
		return &exitError{code: 2, err: err}
	}
	return nil
}
