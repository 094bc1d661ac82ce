package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// newWatchdogCmd is `bidwatch watchdog`: one watchdog replica.
func newWatchdogCmd(logger *slog.Logger) *cobra.Command {
	var (
		file, redisURL, prefix, listen, id string
		noHealth, quiet                    bool
	)
	cmd := &cobra.Command{
		Use:   "watchdog",
		Short: "Run a watchdog replica: turn probe Samples and server health into incidents",
		Long: `watchdog reads the probes' Samples from Redis (stream bidwatch:samples, consumer
group "watchdog"), checks the servers' health (http, tcp and Prometheus
checks from the config), detects latency, stutter, dropouts, servers down
and saturated, correlates them by the city's topology and the probes'
locations, and keeps incidents with their SLA class and deadline — the
contract's fault records (故障记录). See docs/watchdog.md.

Run several replicas against one Redis: they split the Samples, a dead one's
pending Samples are claimed by the others, and one of them — the leader,
holding a Redis lease — runs detection, health checks and timers. Two
replicas never open two incidents for one problem.

Without a Redis URL (--redis or redis.url) an embedded Redis is used, which
nothing else can reach and which keeps nothing: a try-out only.

Incidents are printed as they open, change state and resolve (--quiet to
not); manage them with bidwatch incidents. Prometheus metrics are served on
--listen (watchdog.listen). SIGINT or SIGTERM stop the replica; it hands
the lease on at once.

Exit status: 0 after a clean stop, 1 on a runtime failure, 3 on a usage or
configuration error.`,
		Example: `  bidwatch watchdog --config configs/example-city.yaml --redis redis://10.0.0.5:6379
  bidwatch watchdog --config city.yaml --listen 127.0.0.1:9420 --id wd-2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadCityConfig(file)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("listen") {
				c.Watchdog.Listen = listen
			}
			bo := busOptions(cmd, c, redisURL, prefix)
			bo.Logger = logger
			b, err := bus.Open(cmd.Context(), bo)
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			defer b.Close()
			w, err := watchdog.New(watchdog.Options{Config: c, Bus: b, ID: id, Logger: logger, NoHealth: noHealth})
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			if c.Watchdog.Listen != "" {
				stop, err := serveMetrics(ctx, c.Watchdog.Listen, w, logger)
				if err != nil {
					return &exitError{code: 3, err: err}
				}
				defer stop()
			}
			if !quiet {
				events := w.Events(ctx)
				go printIncidentEvents(cmd.OutOrStdout(), events)
			}
			if err := w.Run(ctx); err != nil {
				return &exitError{code: 1, err: err}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&file, "config", "", "bidwatch config file: city, servers, rooms, redis and watchdog settings (required)")
	fl.StringVar(&redisURL, "redis", "", "Redis URL (overrides redis.url; redis://, rediss://, redis-sentinel://, redis-cluster://)")
	addPrefixFlag(fl, &prefix)
	fl.StringVar(&listen, "listen", "", `address for Prometheus /metrics (overrides watchdog.listen; "" for none)`)
	fl.StringVar(&id, "id", "", `replica id in the consumer group (default "<hostname>-<pid>-<random>")`)
	fl.BoolVar(&noHealth, "no-health", false, "run no health checks (another deployment checks the servers)")
	fl.BoolVar(&quiet, "quiet", false, "do not print incidents as they change")
	_ = cmd.MarkFlagRequired("config")
	cmd.AddCommand(newWatchdogTestCmd(logger))
	return cmd
}

// loadCityConfig loads a config file, mapping its errors to exit codes.
func loadCityConfig(file string) (*config.Config, error) {
	c, err := config.Load(file)
	switch {
	case errors.Is(err, config.ErrInvalid):
		return nil, &exitError{code: 3, err: fmt.Errorf("--config %s:\n%w", file, err)}
	case err != nil:
		return nil, &exitError{code: 3, err: err}
	}
	return c, nil
}

// serveMetrics serves /metrics until ctx ends; stop waits for it.
func serveMetrics(ctx context.Context, addr string, w *watchdog.Watchdog, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(w.Gatherer(), promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	logger.Info("metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() { <-done }, nil
}

// printIncidentEvents prints a line per incident event but the frequent
// "updated" ones (new figures, rooms, findings), until the channel closes.
func printIncidentEvents(out io.Writer, events <-chan incident.Event) {
	for ev := range events {
		if ev.Kind != "updated" {
			fmt.Fprintln(out, incident.EventLine(ev, time.Local))
		}
	}
}
