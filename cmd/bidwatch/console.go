package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/console"
	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/dispatch"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// newConsoleCmd is `bidwatch console`: the live web console.
func newConsoleCmd(logger *slog.Logger) *cobra.Command {
	var file, redisURL, prefix, listen string
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Serve the live web console: the big screen, rooms, incidents, the schedule",
		Long: `console serves the web console on-site staff (驻场运维) watch during every bid
opening: every sub-center's rooms as live tiles, each room's charts, the
incidents with their SLA countdown and the actions on them (acknowledge,
note, mitigate, resolve, sign off), the schedule and "probe this room now".
It needs a login; add users with bidwatch users add. Everything it shows
lives in Redis, so several consoles can run behind a load balancer.
docs/console.md describes the pages, the API and putting it behind HTTPS.`,
		Example: `  bidwatch users add zhang --role operator --config city.yaml
  bidwatch console --config city.yaml
  bidwatch console --config city.yaml --listen 0.0.0.0:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadCityConfig(file)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("listen") {
				c.Console.Listen = listen
			}
			bo := busOptions(cmd, c, redisURL, prefix)
			bo.Logger = logger
			url := bo.URL
			if url == "" {
				return &exitError{code: 3, err: errors.New("no Redis: give --redis URL or redis.url in --config (the console reads what the probes and the watchdog write there)")}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			b, err := bus.Open(ctx, bo)
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			defer b.Close()
			ln, err := net.Listen("tcp", c.Console.Listen)
			if err != nil {
				return &exitError{code: 3, err: fmt.Errorf("console.listen %s: %w", c.Console.Listen, err)}
			}
			s, a, err := newConsole(c, b, logger)
			if err != nil {
				ln.Close()
				return err
			}
			warnNoUsers(ctx, a, logger)
			logger.Info("console serving", "url", consoleURL(c, ln.Addr()), "redis", bus.Redact(url))
			return s.Serve(ctx, ln)
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "bidwatch config file (required)")
	cmd.Flags().StringVar(&redisURL, "redis", "", "Redis URL (overrides redis.url)")
	addPrefixFlag(cmd.Flags(), &prefix)
	cmd.Flags().StringVar(&listen, "listen", "", "address to serve on (overrides console.listen)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// newConsole builds a console on the city's settings, and the user store it
// signs people in with.
func newConsole(c *config.Config, b *bus.Bus, logger *slog.Logger) (*console.Server, *auth.Store, error) {
	a := authStore(c, b)
	s, err := console.New(console.Options{
		City:           c,
		Bus:            b,
		Incidents:      incident.NewRedisStore(b.Client(), b.Prefix(), c.Watchdog.Incidents).WithDurable(b),
		Auth:           a,
		Ack:            dispatch.NewAckSigner(c.Dispatch.Ack),
		History:        c.Console.History,
		TrustForwarded: c.Console.TrustForwarded,
		SecureCookies:  c.Console.SecureCookies(),
		Logger:         logger,
	})
	return s, a, err
}

// authStore is the console's user store on the city's settings.
func authStore(c *config.Config, b *bus.Bus) *auth.Store {
	a := auth.NewStore(b.Client(), b.Prefix())
	if c.Console.SessionTTL > 0 {
		a.SessionTTL = c.Console.SessionTTL
	}
	if c.Console.LoginRate > 0 {
		a.LoginRate = redis_rate.PerMinute(c.Console.LoginRate)
	}
	if c.Console.BcryptCost > 0 {
		a.BcryptCost = c.Console.BcryptCost
	}
	return a
}

// warnNoUsers tells the operator of a fresh install how to let anyone in.
func warnNoUsers(ctx context.Context, a *auth.Store, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if us, err := a.List(ctx); err == nil && len(us) == 0 {
		logger.Warn("no console users yet: nobody can sign in; add one with `bidwatch users add NAME --role admin --config FILE`")
	}
}

// consoleURL is where staff open the console.
func consoleURL(c *config.Config, addr net.Addr) string {
	if c.Console.PublicURL != "" {
		return c.Console.PublicURL
	}
	return "http://" + addr.String() + "/"
}
