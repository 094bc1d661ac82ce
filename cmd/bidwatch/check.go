package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic"
	"github.com/bidwatch/bidwatch/synthetic/rtc"
	"github.com/bidwatch/bidwatch/synthetic/ws"
)

// checkFlags are `bidwatch check`'s flags. Protocol and threshold flags
// override what --config says only when given.
type checkFlags struct {
	duration    time.Duration
	jsonOut     bool
	configPath  string
	room        string
	participant string
	quiet       bool
	whep        string
	whip        string
	media       bool

	ping          time.Duration
	missedPongs   int
	tick          time.Duration
	stutterFactor float64
	token         string
	headers       []string
	join          string
	seqPointer    string
	tsPointer     string
	tsUnit        string

	rttDegraded time.Duration
	rttCritical time.Duration
	stutterPct  float64
	lagDegraded time.Duration
	lossPct     float64
	firstLate   time.Duration
}

func newCheckCmd(logger *slog.Logger) *cobra.Command {
	f := &checkFlags{}
	cmd := &cobra.Command{
		Use:   "check URL|ROOM | --whep URL [--whip URL]",
		Short: "Join one room for a while and print what a bidder there would suffer",
		Long: `check joins one bid-opening room as a synthetic participant, like ping for a
room: it shows live progress, then prints connect time, round-trip latency,
lag, stutter, dropouts and reconnects, and a verdict.

URL is the room's event stream (ws:// or wss://). For the room's live video,
give its WHEP endpoint with --whep (or as whep+https://… in place of URL);
for a coordination room add --whip to publish a synthetic track and measure
the round trip of your own media. With --config, URL may instead be a room
id from the configuration (--media checks its video rather than its event
stream), and the configuration's probe settings and thresholds apply unless
a flag overrides them.

Exit status: 0 ok, 1 degraded, 2 down, 3 usage or configuration error.`,
		Example: `  bidwatch check ws://127.0.0.1:7400/rooms/room-1/events
  bidwatch check --duration 10s --json ws://127.0.0.1:7400/rooms/room-2/events
  bidwatch check --config configs/demo.yaml yz-hall-1
  bidwatch check --whep http://127.0.0.1:7400/rooms/room-1/whep
  bidwatch check --config configs/demo.yaml --media jd-coord-1`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0 && f.whep != "":
			case len(args) != 1:
				return &exitError{code: 3, err: fmt.Errorf("check takes one URL or room id, got %d arguments", len(args))}
			case f.whep != "":
				return &exitError{code: 3, err: fmt.Errorf("give either --whep or a URL, not both")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target := f.whep
			if len(args) == 1 {
				target = args[0]
			}
			return runCheck(cmd, logger, f, target)
		},
	}
	fl := cmd.Flags()
	fl.DurationVarP(&f.duration, "duration", "d", 30*time.Second, "how long to stay in the room")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object instead of the text summary")
	fl.StringVarP(&f.configPath, "config", "c", "", "bidwatch configuration: probe settings, thresholds and room ids")
	fl.StringVar(&f.room, "room", "", "room id for the join message (default: from the URL path /rooms/{room}/…)")
	fl.StringVar(&f.participant, "participant", "", "participant id for the join message (default bidwatch-check-<pid>)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no live progress")
	fl.StringVar(&f.whep, "whep", "", "check the room's live video over WebRTC: its WHEP endpoint (http:// or https://)")
	fl.StringVar(&f.whip, "whip", "", "with --whep, a coordination room's WHIP endpoint: publish and watch your own media come back")
	fl.BoolVar(&f.media, "media", false, "with --config and a room id, check the room's video (WHEP, and WHIP for a coordination room)")

	d := ws.Config{}.WithDefaults()
	fl.DurationVar(&f.ping, "ping", d.PingInterval, "RFC 6455 ping interval")
	fl.IntVar(&f.missedPongs, "missed-pongs", d.MissedPongs, "unanswered pings that make a dropout")
	fl.DurationVar(&f.tick, "tick", d.TickPeriod, "period of the hall's regular events; 0 for a stream without them")
	fl.Float64Var(&f.stutterFactor, "stutter-factor", d.StutterFactor, "a gap longer than this × --tick is stutter")
	fl.StringVar(&f.token, "token", "", "bearer token sent on the upgrade request")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, `extra upgrade header "Name: value" (repeatable)`)
	fl.StringVar(&f.join, "join", d.Join, `join message sent after connecting ({room} and {participant} are replaced; "-" sends none)`)
	fl.StringVar(&f.seqPointer, "seq-pointer", d.SeqPointer, `JSON pointer to a message's sequence number ("-" for none)`)
	fl.StringVar(&f.tsPointer, "ts-pointer", d.TSPointer, `JSON pointer to a message's server timestamp ("-" for none)`)
	fl.StringVar(&f.tsUnit, "ts-unit", "auto", "timestamp unit: auto, s, ms, us, ns or rfc3339")

	th := synthetic.DefaultThresholds()
	fl.DurationVar(&f.rttDegraded, "rtt-degraded", th.RTTDegraded, "RTT p95 above this is degraded")
	fl.DurationVar(&f.rttCritical, "rtt-critical", th.RTTCritical, "RTT p95 above this is down")
	fl.Float64Var(&f.stutterPct, "stutter-pct", th.StutterPct, "stutter above this share of the time (%) is degraded")
	fl.DurationVar(&f.lagDegraded, "lag-degraded", th.LagDegraded, "lag p95 above this is degraded")
	fl.Float64Var(&f.lossPct, "loss-pct", th.LossPct, "lost events above this share (%) is degraded")
	fl.DurationVar(&f.firstLate, "first-frame-late", th.FirstFrameLate, "WebRTC: a first rendered frame later than this after DTLS is degraded")
	return cmd
}

// participant is what check runs: a WebSocket or a WebRTC participant.
type participant interface {
	Run(ctx context.Context, out chan<- sample.Sample) error
}

func runCheck(cmd *cobra.Command, logger *slog.Logger, f *checkFlags, target string) error {
	usage := func(err error) error { return &exitError{code: 3, err: err} }
	if f.duration <= 0 {
		return usage(fmt.Errorf("--duration %v: must be positive", f.duration))
	}
	var (
		p     participant
		shown string
		th    synthetic.Thresholds
	)
	progressOff := f.quiet || (f.jsonOut && !isTerminal(cmd.ErrOrStderr()))
	if rc, t, ok, err := checkMedia(cmd, f, target); err != nil {
		return usage(err)
	} else if ok {
		th, shown = t, rc.WHEPURL
		pr := newProgress(cmd.ErrOrStderr(), progressOff, shown, f.duration)
		rc.OnEvent = pr.event
		rp, err := rtc.New(rc)
		if err != nil {
			return usage(err)
		}
		return checkRun(cmd, f, rp, pr, shown, th)
	}
	wc, t, err := checkConfig(cmd, f, target)
	if err != nil {
		return usage(err)
	}
	th, shown = t, wc.URL
	pr := newProgress(cmd.ErrOrStderr(), progressOff, shown, f.duration)
	wc.OnEvent = pr.event
	// Connection changes reach the user through the progress lines; the
	// participant's own log records (wc.Logger) would only repeat them.
	if p, err = ws.New(wc); err != nil {
		return usage(err)
	}
	return checkRun(cmd, f, p, pr, shown, th)
}

// checkRun runs p for the check's duration, then prints and judges.
func checkRun(cmd *cobra.Command, f *checkFlags, p participant, pr *progress, target string, th synthetic.Thresholds) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), f.duration)
	defer cancel()
	samples := make(chan sample.Sample, 64)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, samples) }()

	var got []sample.Sample
	var err error
	for running := true; running; {
		select {
		case s := <-samples:
			got = append(got, s)
			pr.sample(s)
		case err = <-done:
			running = false
		}
	}
	for len(samples) > 0 { // collect what was sent before Run returned
		got = append(got, <-samples)
	}
	pr.finish()
	if err != nil {
		return &exitError{code: 2, err: err}
	}

	sum := synthetic.Summarize(got, th)
	out := cmd.OutOrStdout()
	if f.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
	} else {
		sum.WriteText(out, target)
	}
	switch sum.Verdict {
	case synthetic.VerdictDegraded:
		return &exitError{code: 1}
	case synthetic.VerdictDown:
		return &exitError{code: 2}
	}
	return nil
}

// checkMedia builds a WebRTC participant's configuration when the check is
// of a room's video; ok is false for an event-stream check.
func checkMedia(cmd *cobra.Command, f *checkFlags, target string) (rc rtc.Config, th synthetic.Thresholds, ok bool, err error) {
	th = synthetic.DefaultThresholds()
	rc.WHEPURL, rc.WHIPURL = target, f.whip
	switch {
	case f.whep != "" || strings.HasPrefix(target, "whep+"):
	case f.media && f.configPath != "":
		cfg, err := config.Load(f.configPath)
		if err != nil {
			return rc, th, false, err
		}
		r, found := cfg.Room(target)
		if !found {
			return rc, th, false, fmt.Errorf("%q is not a room id in %s", target, f.configPath)
		}
		if r.WHEPURL == "" {
			return rc, th, false, fmt.Errorf("room %q has no whep_url in %s", target, f.configPath)
		}
		whip := rc.WHIPURL
		rc = rtc.ConfigFrom(cfg.Probe, *r, "")
		if whip != "" {
			rc.WHIPURL = whip
		}
		th = synthetic.ThresholdsFrom(cfg.Probe.Thresholds)
	case f.media:
		return rc, th, false, fmt.Errorf("--media needs --config and a room id; for a URL use --whep")
	case f.whip != "":
		return rc, th, false, fmt.Errorf("--whip needs --whep (the room's video to watch your media come back on)")
	default:
		return rc, th, false, nil
	}
	if rc.Room == "" {
		rc.Room = roomFromURL(strings.TrimPrefix(rc.WHEPURL, "whep+"))
	}
	rc.Participant = f.participant
	if rc.Participant == "" {
		rc.Participant = fmt.Sprintf("bidwatch-check-%d", os.Getpid())
	}
	if f.token != "" {
		rc.AuthHeader = "Bearer " + f.token
	}
	thresholdFlags(cmd, f, &th)
	return rc, th, true, nil
}

// checkConfig resolves the target and merges --config with the flags.
func checkConfig(cmd *cobra.Command, f *checkFlags, target string) (ws.Config, synthetic.Thresholds, error) {
	changed := cmd.Flags().Changed
	var wc ws.Config
	th := synthetic.DefaultThresholds()
	room := f.room
	if f.configPath != "" {
		cfg, err := config.Load(f.configPath)
		if err != nil {
			return wc, th, err
		}
		r := config.Room{EventsURL: target}
		cr, ok := cfg.Room(target)
		if !ok && !strings.Contains(target, "://") {
			return wc, th, fmt.Errorf("%q is neither a room id in %s nor a ws:// URL", target, f.configPath)
		}
		if ok {
			r = *cr
			if r.EventsURL == "" {
				return wc, th, fmt.Errorf("room %q has no events_url in %s", target, f.configPath)
			}
		}
		wc = ws.ConfigFrom(cfg.Probe, r, "")
		th = synthetic.ThresholdsFrom(cfg.Probe.Thresholds)
		if room == "" {
			room = r.ID
		}
	} else {
		wc.URL = target
	}
	if strings.HasPrefix(wc.URL, "http") {
		return wc, th, fmt.Errorf("%q: a WebSocket check needs a ws:// or wss:// URL (for video, use --whep)", target)
	}
	if room == "" {
		room = roomFromURL(wc.URL)
	}
	wc.Room = room
	wc.Participant = f.participant
	if wc.Participant == "" {
		wc.Participant = fmt.Sprintf("bidwatch-check-%d", os.Getpid())
	}
	if f.configPath == "" || changed("ping") {
		wc.PingInterval = f.ping
	}
	if f.configPath == "" || changed("missed-pongs") {
		wc.MissedPongs = f.missedPongs
	}
	if f.configPath == "" || changed("tick") {
		wc.TickPeriod = f.tick
		if f.tick == 0 {
			wc.TickPeriod = -1
		}
	}
	if f.configPath == "" || changed("stutter-factor") {
		wc.StutterFactor = f.stutterFactor
	}
	if f.configPath == "" || changed("join") {
		wc.Join = f.join
	}
	if f.configPath == "" || changed("seq-pointer") {
		wc.SeqPointer = f.seqPointer
	}
	if f.configPath == "" || changed("ts-pointer") {
		wc.TSPointer = f.tsPointer
	}
	if f.configPath == "" || changed("ts-unit") {
		wc.TSUnit = f.tsUnit
	}
	if changed("token") {
		wc.Token = f.token
	}
	for _, h := range f.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return wc, th, fmt.Errorf("--header %q: want \"Name: value\"", h)
		}
		if wc.Header == nil {
			wc.Header = map[string][]string{}
		}
		wc.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	thresholdFlags(cmd, f, &th)
	return wc, th, nil
}

// thresholdFlags lets the verdict flags override the configuration's
// thresholds: all of them without --config, the ones given with it.
func thresholdFlags(cmd *cobra.Command, f *checkFlags, th *synthetic.Thresholds) {
	use := func(name string) bool { return f.configPath == "" || cmd.Flags().Changed(name) }
	if use("rtt-degraded") {
		th.RTTDegraded = f.rttDegraded
	}
	if use("rtt-critical") {
		th.RTTCritical = f.rttCritical
	}
	if use("stutter-pct") {
		th.StutterPct = f.stutterPct
	}
	if use("lag-degraded") {
		th.LagDegraded = f.lagDegraded
	}
	if cmd.Flags().Changed("loss-pct") {
		th.LossPct = f.lossPct
	}
	if use("first-frame-late") {
		th.FirstFrameLate = f.firstLate
	}
}

// roomFromURL takes the room id from a path like /rooms/{room}/events.
func roomFromURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "rooms" {
			return parts[i+1]
		}
	}
	return ""
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
