package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/dispatch"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// newAlertsCmd is `bidwatch alerts`: dispatch channels, the outbox and
// silences from a terminal.
func newAlertsCmd(logger *slog.Logger) *cobra.Command {
	var file, redisURL, prefix string
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Dispatch alerts (派单告警): test a channel, see the outbox, silence alerts",
		Long: `alerts works with the dispatch alerts the watchdog's leader sends to the
sub-centers' duty officers (docs/dispatch.md): send a test message through a
channel of the configuration, list what the outbox holds (pending, retrying,
sent, failed, given up, held back by a rate limit), and silence alerts for
incidents that match (recorded, not sent) for a while.

Exit status: 0 done, 1 the test message was not delivered or the silence
does not exist, 2 Redis unreachable, 3 usage or configuration error.`,
		Args: cobra.NoArgs,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&file, "config", "", "bidwatch config file: the dispatch section and redis.url (required)")
	pf.StringVar(&redisURL, "redis", "", "Redis URL (overrides redis.url)")
	addPrefixFlag(pf, &prefix)
	_ = cmd.MarkPersistentFlagRequired("config")
	open := func(cmd *cobra.Command) (*config.Config, *bus.Bus, error) {
		c, err := loadCityConfig(file)
		if err != nil {
			return nil, nil, err
		}
		bo := busOptions(cmd, c, redisURL, prefix)
		bo.Logger = slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelWarn})
		if bo.URL == "" {
			return nil, nil, &exitError{code: 3, err: errors.New("no Redis: give --redis URL or redis.url in --config")}
		}
		b, err := bus.Open(cmd.Context(), bo)
		if err != nil {
			return nil, nil, &exitError{code: 3, err: err}
		}
		pctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
		defer cancel()
		if err := b.Ping(pctx); err != nil {
			_ = b.Close()
			return nil, nil, &exitError{code: 2, err: err}
		}
		return c, b, nil
	}
	cmd.AddCommand(newAlertsTestCmd(&file, logger), newAlertsOutboxCmd(open), newAlertsSilenceCmd(open), newAlertsSilencesCmd(open), newAlertsUnsilenceCmd(open))
	return cmd
}

func newAlertsTestCmd(file *string, logger *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "test CHANNEL",
		Short: "Send a test message through a channel of the configuration",
		Long: `test sends a test message (测试消息) through one channel of the dispatch
section, now, and says whether it was delivered — to check a robot's URL
and signing secret, or an SMTP login, before an opening. It goes straight
to the channel: no Redis, no outbox, no rate limit.`,
		Example: `  bidwatch alerts test jd-dingtalk --config city.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadCityConfig(*file)
			if err != nil {
				return err
			}
			spec, ok := c.Dispatch.Channel(args[0])
			if !ok {
				var names []string
				for _, ch := range c.Dispatch.Channels {
					names = append(names, ch.Name)
				}
				return &exitError{code: 3, err: fmt.Errorf("no channel %q in %s (channels: %s)", args[0], *file, strings.Join(names, ", "))}
			}
			ch, err := channel.New(*spec, channel.Env{Logger: logger})
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			now := time.Now()
			m := dispatch.TestMessage(c, spec.Name, now)
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if _, err := ch.Send(ctx, m); err != nil {
				return &exitError{code: 1, err: fmt.Errorf("%s: not delivered: %w", spec.Name, err)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: test message %s delivered (%s)\n", spec.Name, m.ID, spec.Type)
			return nil
		},
	}
}

type opener func(cmd *cobra.Command) (*config.Config, *bus.Bus, error)

func newAlertsOutboxCmd(open opener) *cobra.Command {
	var (
		statuses []string
		limit    int
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "List the outbox's deliveries of the last week, newest first",
		Example: `  bidwatch alerts outbox --config city.yaml
  bidwatch alerts outbox --config city.yaml --status retrying,failed,given_up`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, b, err := open(cmd)
			if err != nil {
				return err
			}
			defer b.Close()
			ob := dispatch.NewOutbox(b.Client(), b.Prefix(), c.Dispatch.Retry)
			ds, err := ob.List(cmd.Context(), statuses, limit)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(ds)
			}
			if len(ds) == 0 {
				fmt.Fprintln(out, "the outbox is empty")
				return nil
			}
			loc := c.Dispatch.Location()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MESSAGE\tCHANNEL\tRECEIVER\tSTATUS\tATTEMPTS\tFIRST\tLAST ERROR / NEXT")
			for _, d := range ds {
				extra := d.LastError
				switch d.Status {
				case dispatch.StatusRetrying:
					extra = "next " + d.NextAt.In(loc).Format("15:04:05") + ": " + d.LastError
				case dispatch.StatusSummarized:
					extra = "in " + d.Summary
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.MessageID, d.Channel, d.Receiver, d.Status, d.Attempts, d.FirstAt.In(loc).Format("01-02 15:04:05"), extra)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringSliceVar(&statuses, "status", nil, "only these statuses: pending, retrying, sent, failed, given_up, held, summarized")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newAlertsSilenceCmd(open opener) *cobra.Command {
	var (
		match      map[string]string
		dur        time.Duration
		by, reason string
	)
	cmd := &cobra.Command{
		Use:   "silence",
		Short: "Silence alerts for the incidents that match, for a while (recorded, not sent)",
		Long: `silence mutes dispatch for the incidents that match every key given — their
sub_center, room or server (one of their place's), cause, key or class —
from now for --for: they are still recorded, and their timelines say they
were not dispatched. Those told of an incident before still hear how it
ends. Maintenance windows in the configuration mute the same way.`,
		Example: `  bidwatch alerts silence --config city.yaml --match sub_center=jd,room=jd-hall-1 --for 2h --reason "网关升级"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, b, err := open(cmd)
			if err != nil {
				return err
			}
			defer b.Close()
			now := time.Now()
			if by == "" {
				by = currentUser()
			}
			s, err := dispatch.NewSilences(b.Client(), b.Prefix()).Add(cmd.Context(), dispatch.Silence{Match: match, Start: now, End: now.Add(dur), By: by, Reason: reason})
			if errors.Is(err, dispatch.ErrBadSilence) {
				return &exitError{code: 3, err: err}
			} else if err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s silenced until %s\n", s.ID, s.String(), s.End.In(c.Dispatch.Location()).Format("2006-01-02 15:04"))
			return nil
		},
	}
	cmd.Flags().StringToStringVar(&match, "match", nil, "what to silence: "+strings.Join(dispatch.MatchKeys, "=, ")+"= (all must match)")
	cmd.Flags().DurationVar(&dur, "for", 2*time.Hour, "how long")
	cmd.Flags().StringVar(&by, "by", "", "who silences, for the record (default $USER)")
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	return cmd
}

func newAlertsSilencesCmd(open opener) *cobra.Command {
	return &cobra.Command{
		Use:   "silences",
		Short: "List the silences (those ended a day ago are dropped)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, b, err := open(cmd)
			if err != nil {
				return err
			}
			defer b.Close()
			now := time.Now()
			ss, err := dispatch.NewSilences(b.Client(), b.Prefix()).List(cmd.Context(), now)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			out := cmd.OutOrStdout()
			if len(ss) == 0 {
				fmt.Fprintln(out, "no silences")
				return nil
			}
			loc := c.Dispatch.Location()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tMATCH\tFROM\tUNTIL\tBY\tREASON")
			for _, s := range ss {
				until := s.End.In(loc).Format("01-02 15:04")
				if !s.Active(now) {
					until += " (ended)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.String(), s.Start.In(loc).Format("01-02 15:04"), until, s.By, s.Reason)
			}
			return tw.Flush()
		},
	}
}

func newAlertsUnsilenceCmd(open opener) *cobra.Command {
	return &cobra.Command{
		Use:   "unsilence ID",
		Short: "End a silence now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, b, err := open(cmd)
			if err != nil {
				return err
			}
			defer b.Close()
			if err := dispatch.NewSilences(b.Client(), b.Prefix()).Expire(cmd.Context(), args[0], time.Now()); err != nil {
				if errors.Is(err, incident.ErrNotFound) {
					return &exitError{code: 1, err: err}
				}
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s ended\n", args[0])
			return nil
		},
	}
}

// newServeAckCmd is `bidwatch serve-ack`: the acknowledge links' page.
func newServeAckCmd(logger *slog.Logger) *cobra.Command {
	var file, redisURL, prefix, listen string
	cmd := &cobra.Command{
		Use:   "serve-ack",
		Short: "Serve the acknowledge links dispatch messages carry (确认接单 from a phone)",
		Long: `serve-ack serves /ack, where the acknowledge links in dispatch messages
point (dispatch.ack.base_url): a duty officer opens the link on a phone,
sees which incident it is, and acknowledges it in their name with one
button. A link is signed (HMAC-SHA256 over the incident, the person and the
expiry, with dispatch.ack.secret), expires after dispatch.ack.valid_for, and
works once; opening it (a GET, as link scanners do) acknowledges nothing.

Put it behind the center's reverse proxy with TLS; it listens on
dispatch.ack.listen (127.0.0.1:9430) unless --listen says otherwise.`,
		Example: `  bidwatch serve-ack --config city.yaml --redis redis://10.0.0.5:6379`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadCityConfig(file)
			if err != nil {
				return err
			}
			signer := dispatch.NewAckSigner(c.Dispatch.Ack)
			if signer == nil {
				return &exitError{code: 3, err: fmt.Errorf("%s: dispatch.ack.base_url and dispatch.ack.secret are required", file)}
			}
			f := &incidentsFlags{config: file, redis: redisURL, prefix: prefix}
			store, b, err := openIncidentStore(cmd.Context(), f, cmd, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			addr := c.Dispatch.Ack.Listen
			if cmd.Flags().Changed("listen") {
				addr = listen
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return &exitError{code: 3, err: fmt.Errorf("listen %s: %w", addr, err)}
			}
			mux := http.NewServeMux()
			mux.Handle("/ack", &dispatch.AckHandler{Signer: signer, Store: store, Redis: b.Client(), Prefix: b.Prefix(), City: c, Now: time.Now, Logger: logger})
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			fmt.Fprintf(cmd.OutOrStdout(), "acknowledge links served on http://%s/ack (links point at %s/ack)\n", ln.Addr(), c.Dispatch.Ack.BaseURL)
			select {
			case <-cmd.Context().Done():
			case err := <-done:
				return &exitError{code: 2, err: err}
			}
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "bidwatch config file: the dispatch section and redis.url (required)")
	cmd.Flags().StringVar(&redisURL, "redis", "", "Redis URL (overrides redis.url)")
	addPrefixFlag(cmd.Flags(), &prefix)
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (overrides dispatch.ack.listen)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}
