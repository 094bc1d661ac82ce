package watchdog

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
)

// Options configure New. Config and Bus are required.
type Options struct {
	// Config is the city, validated, with its watchdog section.
	Config *config.Config
	// Bus is the Redis connection; the caller closes it after Run returns.
	Bus *bus.Bus
	// ID names this replica in the consumer group and the lease; default
	// "<hostname>-<pid>-<random>".
	ID string
	// Clock is the watchdog's one clock: the decisions' time (findings,
	// incidents, deadlines) and every ticker and timer. Default the real
	// one. (Measured durations for metrics, and stream ids, which are
	// Redis's time, use the real clock.)
	Clock clockwork.Clock
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Registry receives the watchdog's metrics; default a new registry,
	// returned by Gatherer.
	Registry *prometheus.Registry
	// HTTPClient makes the health checks' requests; default its own.
	HTTPClient *http.Client
	// NoHealth turns health collection off (the leader runs none).
	NoHealth bool
	// StartID is where a consumer group created by this replica starts in
	// the samples stream: "$" (default: only Samples that arrive from now
	// on) or "0" (everything the stream still holds).
	StartID string
	// NoDispatch turns dispatch alerts off (the leader sends none).
	NoDispatch bool
	// NoRollups turns the roll-ups and the raw archive off: Samples are
	// detected on but not kept for reports (benchmarks of detection alone).
	NoRollups bool
	// NoRemedy turns automatic remediation off (the leader runs no
	// runbook, whatever remedy.runbooks says).
	NoRemedy bool
	// ChannelEnv is what the dispatch channels use (HTTP client, TLS for
	// SMTP); every field has a default.
	ChannelEnv channel.Env
	// Channels replaces channels the configuration describes, by name
	// (tests).
	Channels map[string]channel.Channel
}

func (o *Options) defaults() error {
	if o.Config == nil {
		return fmt.Errorf("watchdog: Config is required")
	}
	if o.Bus == nil {
		return fmt.Errorf("watchdog: Bus is required")
	}
	if o.ID == "" {
		host, _ := os.Hostname()
		var b [3]byte
		_, _ = rand.Read(b[:])
		o.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.StartID == "" {
		o.StartID = "$"
	}
	return nil
}
