package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/synthetic"
	"github.com/bidwatch/bidwatch/synthetic/hall"
)

// demoPhase is one step of the demo's fault script.
type demoPhase struct {
	name  string // what the on-site staff would see
	fault *hall.Fault
	hold  time.Duration
}

// demoScript is the scripted drill: a fault comes, holds, and goes, with a
// clean stretch between faults so the recovery shows.
func demoScript() []demoPhase {
	clean := func(d time.Duration) demoPhase { return demoPhase{name: "clean", hold: d} }
	return []demoPhase{
		clean(8 * time.Second),
		{name: "latency: every frame delayed 400 ms ± 100 ms", fault: &hall.Fault{LatencyMS: 400, JitterMS: 100}, hold: 8 * time.Second},
		clean(6 * time.Second),
		{name: "stall: the hall sends nothing for 3 s", fault: &hall.Fault{StallMS: 3000}, hold: 6 * time.Second},
		clean(4 * time.Second),
		{name: "drop: the gateway cuts every connection", fault: &hall.Fault{Drop: true}, hold: 6 * time.Second},
		clean(4 * time.Second),
		{name: "loss: 20% of events never arrive", fault: &hall.Fault{LossPct: 20}, hold: 8 * time.Second},
		clean(4 * time.Second),
		{name: "silent death: TCP open, nothing answers", fault: &hall.Fault{Silent: true}, hold: 6 * time.Second},
		clean(4 * time.Second),
		{name: "refuse: new connections get 503 after a drop", fault: &hall.Fault{Refuse: true, Drop: true}, hold: 6 * time.Second},
	}
}

func newDemoCmd(logger *slog.Logger) *cobra.Command {
	var (
		listen   string
		duration time.Duration
		room     string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a synthetic hall and watch one of its rooms while scripted faults come and go",
		Long: `demo runs everything in one process, on loopback, with nothing to install:
a synthetic bid-opening hall (rooms room-1 … room-4) and a synthetic
participant in one room, while a scripted drill injects latency, a stall, a
dropped gateway, event loss, silent death and refused connections. Each
fault's effect is printed as the participant sees it, with a verdict per phase.

The hall's admin API stays open while it runs, so you can inject faults of
your own (see docs/hall-protocol.md) or run ` + "`bidwatch check`" + ` against it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			return runDemo(ctx, cmd.OutOrStdout(), logger, listen, room)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:7400", "address of the synthetic hall")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: until interrupted)")
	cmd.Flags().StringVar(&room, "room", "room-1", "the room the participant joins and the drill hits")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, logger *slog.Logger, listen, room string) error {
	// The drill's own lines say what the hall and the participant do; their
	// logs add only warnings and errors.
	logger = slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelWarn})
	h, err := hall.New(hall.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer h.Close()
	target := h.Room(room)
	if target == nil {
		return &exitError{code: 3, err: fmt.Errorf("--room %q: the demo hall has room-1 … room-4", room)}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return &exitError{code: 3, err: fmt.Errorf("--listen %s: %w (is another bidwatch running? try --listen 127.0.0.1:0)", listen, err)}
	}
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-served
	}()

	base := "http://" + ln.Addr().String()
	url := "ws://" + ln.Addr().String() + "/rooms/" + room + "/events"
	fmt.Fprintf(out, "bidwatch demo — synthetic hall on %s (nothing is persisted; Ctrl-C to stop)\n", base)
	fmt.Fprintf(out, "  event streams  ws://%s/rooms/{room-1…room-4}/events\n", ln.Addr())
	fmt.Fprintf(out, "  admin API      %s/admin/rooms   (inject your own faults: docs/hall-protocol.md)\n", base)
	fmt.Fprintf(out, "  try meanwhile  bidwatch check ws://%s/rooms/room-2/events\n\n", ln.Addr())

	pr := newProgress(out, false, url, 0)
	samples := make(chan synthetic.Sample, 64)
	p, err := synthetic.NewWS(synthetic.WSConfig{
		URL: url, Room: room, Participant: "demo-bidder",
		ReconnectMin: 200 * time.Millisecond, ReconnectMax: 2 * time.Second,
		OnEvent: pr.event,
	})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx, samples) }()
	defer func() { stop(); <-done }()

	script := demoScript()
	phase, phaseSamples := 0, []synthetic.Sample(nil)
	startPhase := func() time.Time {
		ph := script[phase%len(script)]
		if ph.fault != nil {
			fmt.Fprintf(out, "\n▶ FAULT  %s\n", ph.name)
			if err := target.SetFault(*ph.fault); err != nil {
				fmt.Fprintf(out, "  (could not inject: %v)\n", err)
			}
		} else {
			target.ClearFault()
			fmt.Fprintf(out, "\n■ cleared: the room should recover\n")
		}
		return time.Now().Add(ph.hold)
	}
	phaseEnd := startPhase()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			pr.finish()
			fmt.Fprintln(out, "\ndemo stopped")
			return nil
		case err := <-served:
			return fmt.Errorf("hall stopped serving: %w", err)
		case s := <-samples:
			phaseSamples = append(phaseSamples, s)
			fmt.Fprintln(out, demoLine(s))
		case now := <-ticker.C:
			if now.Before(phaseEnd) {
				continue
			}
			sum := synthetic.Summarize(phaseSamples, synthetic.DefaultThresholds())
			fmt.Fprintf(out, "  → verdict for this phase: %s", strings.ToUpper(string(sum.Verdict)))
			if len(sum.Reasons) > 0 {
				fmt.Fprintf(out, " (%s)", strings.Join(sum.Reasons, "; "))
			}
			fmt.Fprintln(out)
			phase++
			phaseSamples = nil
			phaseEnd = startPhase()
		}
	}
}

// demoLine is one window as a line of the live log.
func demoLine(s synthetic.Sample) string {
	state := "up  "
	if !s.Connected {
		state = "DOWN"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %s %s  rtt %-8s lag %-8s events %d", s.WindowStart.Format("15:04:05"), state,
		fmtMS(s.RTTMedianMS), fmtMS(s.LagMedianMS), s.Messages)
	if s.MissedSeq > 0 {
		fmt.Fprintf(&b, "  missed %d", s.MissedSeq)
	}
	if s.FreezeMS > 0 {
		fmt.Fprintf(&b, "  STUTTER %s", fmtMS(s.FreezeMS))
	}
	if s.Dropouts > 0 {
		fmt.Fprintf(&b, "  DROPOUT")
	}
	if s.Reconnects > 0 {
		fmt.Fprintf(&b, "  reconnected after %s", fmtMS(s.LastOutageMS))
	}
	if !s.Connected && s.Error != "" {
		fmt.Fprintf(&b, "  (%s)", s.Error)
	}
	return b.String()
}

// minLevel is a handler that lets through records at min or above only.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(as), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
