package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/probe"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/synthetic/hall/drill"
	"github.com/bidwatch/bidwatch/watchdog"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/drills"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/remedy"
)

// demoLocations are the sub-centers the demo's probe agents run in. Each
// reaches the hall through its own network path, so a drill can hurt one
// location's path only.
var demoLocations = []string{"yz", "gy"}

func newDemoCmd(logger *slog.Logger) *cobra.Command {
	var (
		listen   string
		console  string
		duration time.Duration
		perRoom  int
		runbooks bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on a synthetic city while scripted faults come and go",
		Long: `demo runs everything in one process, on loopback, with nothing to install:
a synthetic city's bid-opening hall (configs/demo.yaml: the center and four
sub-centers, their rooms and servers), a schedule of bid openings starting
now, probe agents in two sub-centers (each reaching the hall over its own
network path, served by the hall), the watchdog, and an embedded Redis
between them. A drill script (configs/drill-demo.yaml) then saturates a
media server, congests one sub-center's network path, makes a gateway drop
its bidders, takes a database down, congests a path while a media server is
saturated, and saturates the first media server again; incidents are
printed as they open and resolve, with their cause, SLA class and deadline.

Nothing is persisted: the embedded Redis lives as long as the demo. While it
runs, other commands can reach it at the address it prints.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			if perRoom < 1 {
				return &exitError{code: 3, err: fmt.Errorf("--participants %d: must be at least 1", perRoom)}
			}
			script, err := drill.Demo()
			if err != nil {
				return err
			}
			return runDemo(ctx, cmd.OutOrStdout(), logger, demoOptions{listen: listen, console: console, perRoom: perRoom, script: script, noRemedy: !runbooks})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:7400", "address of the synthetic hall")
	cmd.Flags().StringVar(&console, "console", "127.0.0.1:8080", `address of the web console ("" for none)`)
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: until interrupted)")
	cmd.Flags().IntVar(&perRoom, "participants", 2, "WebSocket participants per room per probe agent")
	cmd.Flags().BoolVar(&runbooks, "runbooks", true, "let the watchdog run the demo's runbooks (automatic remediation); false: incidents only")
	return cmd
}

type demoOptions struct {
	// noRemedy leaves the demo city without runbooks.
	noRemedy bool
	listen   string
	console  string
	perRoom  int
	script   *drill.Script // nil: no drills
}

func runDemo(ctx context.Context, stdout io.Writer, logger *slog.Logger, o demoOptions) error {
	// Incidents and drills are printed from two goroutines.
	out := &lockedWriter{w: stdout}
	// The drill's own lines and the incidents say what happens; of the
	// components' logs only errors are shown (a dropout is a warning, and
	// the drills make plenty).
	logger = slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelError})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The hall, on the demo city's rooms and servers.
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return &exitError{code: 3, err: fmt.Errorf("--listen %s: %w (is another bidwatch running? try --listen 127.0.0.1:0)", o.listen, err)}
	}
	cfg := config.DemoCity()
	hallAddr := ln.Addr().String()
	retarget(cfg.Rooms, cfg.Servers, "127.0.0.1:7400", hallAddr)
	hopts := hall.Options{Logger: logger, NoMedia: true}
	hallRooms(&hopts, cfg)
	h, err := hall.New(hopts)
	if err != nil {
		ln.Close()
		return err
	}
	defer h.Close()
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	served := make(chan error, 1)
	wg.Add(1)
	go func() { defer wg.Done(); served <- srv.Serve(ln) }()
	defer func() {
		cancel()
		sctx, c := context.WithTimeout(context.Background(), 3*time.Second)
		defer c()
		srv.Shutdown(sctx)
		wg.Wait()
	}()

	// The embedded Redis between probes and watchdog.
	b, err := bus.Open(ctx, bus.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer b.Close()

	// A schedule: every room opens now.
	dir, err := os.MkdirTemp("", "bidwatch-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	schedule := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(schedule, demoSchedule(cfg, time.Now()), 0o600); err != nil {
		return err
	}

	var agents []*probe.Agent
	var paths []string
	for _, loc := range demoLocations {
		p, err := h.AddPath(loc, "", hallAddr)
		if err != nil {
			return err
		}
		paths = append(paths, loc+" "+p.Addr())
		rooms, err := viaRooms(cfg.Rooms, p.Addr())
		if err != nil {
			return err
		}
		a, err := probe.New(probe.Options{
			ID: loc + "@demo", Location: loc, Version: Version, Bus: b,
			Rooms: rooms, Probe: cfg.Probe,
			Participants: map[string]int{"ws": o.perRoom},
			ScheduleFile: schedule, Lead: time.Minute, Tail: time.Minute,
			PatrolInterval: -1, Logger: logger,
		})
		if err != nil {
			return err
		}
		agents = append(agents, a)
	}
	// The duty officers' phones: a webhook receiver on loopback, told by
	// dispatch like a sub-center's group robot would be.
	alerts := make(chan channel.WebhookBody, 64)
	phone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	phoneSrv := &http.Server{Handler: &channel.Receiver{Deliver: func(b channel.WebhookBody) {
		select {
		case alerts <- b:
		default:
		}
	}}, ReadHeaderTimeout: 5 * time.Second}
	wg.Add(1)
	go func() { defer wg.Done(); _ = phoneSrv.Serve(phone) }()
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		defer c()
		_ = phoneSrv.Shutdown(sctx)
	}()
	demoDispatch(cfg, "http://"+phone.Addr().String()+"/alerts")
	if !o.noRemedy {
		demoRemedy(cfg, "http://"+hallAddr)
	}
	// The console, with a demo login; the alerts' acknowledge links open it.
	var login *demoLogin
	if o.console != "" {
		cln, err := net.Listen("tcp", o.console)
		if err != nil {
			return &exitError{code: 3, err: fmt.Errorf("--console %s: %w (try --console 127.0.0.1:0, or \"\" for none)", o.console, err)}
		}
		base := "http://" + cln.Addr().String()
		cfg.Dispatch.Ack = config.AckLinks{BaseURL: base, Secret: config.Secret(randomPassword() + randomPassword()), ValidFor: time.Hour}
		cs, a, err := newConsole(cfg, b, logger)
		if err != nil {
			cln.Close()
			return err
		}
		a.BcryptCost = 4 // the demo's passwords live as long as the demo
		if login, err = addDemoUsers(ctx, a, base); err != nil {
			cln.Close()
			return err
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = cs.Serve(ctx, cln) }()
	}
	wd, err := watchdog.New(watchdog.Options{Config: cfg, Bus: b, ID: "demo", Logger: logger})
	if err != nil {
		return err
	}
	events := wd.Events(ctx)

	errs := make(chan error, len(agents)+1)
	for _, a := range agents {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- a.Run(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); errs <- wd.Run(ctx) }()

	fmt.Fprintf(out, "bidwatch demo — %s, on loopback; nothing is persisted (Ctrl-C to stop)\n", cfg.City.Name)
	fmt.Fprintf(out, "  hall      http://%s  %d rooms on %d servers; admin API /admin/rooms, /admin/servers\n", hallAddr, len(cfg.Rooms), len(cfg.Servers))
	fmt.Fprintf(out, "  redis     embedded at redis://%s  (in-process, gone when the demo stops)\n", b.Addr())
	fmt.Fprintf(out, "  probes    %s: %d bidders per room each, over their own network path\n", strings.Join(demoLocations, ", "), o.perRoom)
	fmt.Fprintf(out, "  paths     %s; admin API /admin/paths\n", strings.Join(paths, ", "))
	fmt.Fprintf(out, "  schedule  %d bid openings starting now\n", len(cfg.Rooms))
	fmt.Fprintf(out, "  alerts    each sub-center's duty officer's phone: a webhook on http://%s (✉ lines below)\n", phone.Addr())
	if len(cfg.Remedy.Runbooks) > 0 {
		fmt.Fprintf(out, "  runbooks  %s: run by the watchdog through the hall's admin API (⚙ lines below)\n", runbookNames(cfg))
	}
	if login != nil {
		fmt.Fprintf(out, "  console   %s  sign in as %s, password %s\n", login.url, login.names, login.password)
	}
	fmt.Fprintf(out, "  try       bidwatch incidents list --redis redis://%s\n", b.Addr())
	if o.script != nil {
		fmt.Fprintf(out, "            bidwatch drills report --redis redis://%s -o drill.html   (the drills' score, 应急演练报告)\n", b.Addr())
	}
	fmt.Fprintf(out, "            bidwatch check ws://%s/rooms/yz-hall-1/events\n\n", hallAddr)

	drilled := make(chan error, 1)
	if o.script != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := drills.NewRecorder(drills.NewStore(b.Client(), b.Prefix()), cfg, "demo", logger)
			drilled <- runDrill(ctx, out, drill.HallTarget{Hall: h}, o.script, "demo", rec, logger)
		}()
	}
	for {
		select {
		case <-ctx.Done():
			if o.script != nil {
				<-drilled // its faults are cleared
			}
			fmt.Fprintln(out, "\ndemo stopped")
			return nil
		case err := <-served:
			return fmt.Errorf("hall stopped serving: %w", err)
		case err := <-errs:
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
		case err := <-drilled:
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			o.script = nil // done: the demo goes on without drills
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			switch ev.Kind {
			case incident.EventUpdated, "alert", incident.EventMergedIn, incident.EventEscalate:
			case remedy.EventRemedy:
				fmt.Fprintf(out, "    ⚙ %s %s %s: %s\n", ev.At.Local().Format("15:04:05"), ev.Incident.ID, ev.Actor, firstLine(ev.Text))
			default:
				fmt.Fprintln(out, "  ● "+incident.EventLine(ev, time.Local))
			}
		case a := <-alerts:
			m := a.Message
			fmt.Fprintf(out, "    ✉ %s %s ← %s\n", m.At.Local().Format("15:04:05"), m.Level, m.Title)
		}
	}
}

// demoLogin is what the demo prints of its console.
type demoLogin struct {
	url, names, password string
}

// demoUsers are the demo console's users: one per role, all with the one
// password the demo prints.
var demoUsers = []struct {
	name, display string
	role          auth.Role
}{
	{"zhang", "张工", auth.RoleOperator},
	{"li", "李主任", auth.RoleSupervisor},
	{"screen", "大屏", auth.RoleViewer},
	{"admin", "管理员", auth.RoleAdmin},
}

// addDemoUsers adds the demo's users with a fresh random password.
func addDemoUsers(ctx context.Context, a *auth.Store, url string) (*demoLogin, error) {
	pw := randomPassword()
	var names []string
	for _, u := range demoUsers {
		if _, err := a.AddUser(ctx, u.name, u.display, u.role, pw); err != nil {
			return nil, fmt.Errorf("demo user %s: %w", u.name, err)
		}
		names = append(names, fmt.Sprintf("%s (%s)", u.name, u.role))
	}
	return &demoLogin{url: url + "/", names: strings.Join(names, ", "), password: pw}, nil
}

// randomPassword is 12 random letters and digits.
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b [12]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// demoRemedy gives the demo city two runbooks (处置预案) that act on the
// hall's admin API at hall: a media server in trouble is restarted (what
// on-site staff would do first; it fixes a saturated one), and a room whose
// gateway drops its bidders is cleared (it does not help while the drill
// keeps dropping them: the runbook fails its verification and escalates).
func demoRemedy(cfg *config.Config, hall string) {
	on := func(steps ...config.RunbookStep) []config.RunbookStep { return steps }
	cfg.Remedy.Runbooks = []config.Runbook{
		{
			Name:  "restart-media",
			Match: config.RunbookMatch{Causes: []string{"server"}, Roles: []string{"media"}},
			Steps: on(
				config.RunbookStep{Name: "restart", Timeout: 10 * time.Second, HTTP: &config.HTTPAction{Method: "POST", URL: hall + "/admin/servers/{{.Server}}/restart"}},
				config.RunbookStep{Name: "settle", Timeout: 10 * time.Second, WaitProbes: 3 * time.Second},
			),
			VerifyWithin: 45 * time.Second, Cooldown: 2 * time.Minute, MaxPerHour: 6,
		},
		{
			Name:  "clear-room",
			Match: config.RunbookMatch{Causes: []string{"room"}},
			Steps: on(
				config.RunbookStep{Name: "clear", Timeout: 10 * time.Second, HTTP: &config.HTTPAction{Method: "POST", URL: hall + "/admin/rooms/{{.Room}}/clear"}},
			),
			// A room cleared is fine within seconds, or the clearing did
			// not help.
			VerifyWithin: 8 * time.Second, Cooldown: 2 * time.Minute, MaxPerHour: 6,
		},
	}
}

// runbookNames lists the city's runbooks.
func runbookNames(cfg *config.Config) string {
	var names []string
	for _, rb := range cfg.Remedy.Runbooks {
		names = append(names, rb.Name)
	}
	return strings.Join(names, ", ")
}

// demoDispatch gives the demo city a dispatch section: one duty officer per
// sub-center, on duty all day, reached through the webhook at url.
func demoDispatch(cfg *config.Config, url string) {
	d := &cfg.Dispatch
	d.Channels = []config.Channel{{Name: "phones", Type: "webhook", URL: url, Rate: "120/min", StartTLS: true}}
	d.Remind = 0
	for _, sc := range cfg.SubCenters {
		id := sc.ID + "-duty"
		d.People = append(d.People, config.Person{ID: id, Name: sc.Name + "值班员"})
		d.Roster = append(d.Roster, config.Roster{SubCenter: sc.ID, Levels: []config.Level{{
			Name: "值班员", Channels: []string{"phones"},
			Shifts: []config.Shift{{Days: "all", From: "00:00", To: "24:00", People: []string{id}}},
		}}})
	}
}

// retarget points rooms' and servers' URLs at another host:port.
func retarget(rooms []config.Room, servers []config.Server, from, to string) {
	if from == to {
		return
	}
	for i := range rooms {
		r := &rooms[i]
		r.EventsURL = strings.Replace(r.EventsURL, from, to, 1)
		r.WHEPURL = strings.Replace(r.WHEPURL, from, to, 1)
		r.WHIPURL = strings.Replace(r.WHIPURL, from, to, 1)
	}
	for i := range servers {
		for j := range servers[i].Health {
			hc := &servers[i].Health[j]
			hc.URL = strings.Replace(hc.URL, from, to, 1)
			hc.Address = strings.Replace(hc.Address, from, to, 1)
		}
	}
}

// demoSchedule is a schedule file with one bid opening per room, opening now
// and lasting two hours.
func demoSchedule(cfg *config.Config, now time.Time) []byte {
	var b strings.Builder
	b.WriteString("sessions:\n")
	for i, r := range cfg.Rooms {
		fmt.Fprintf(&b, "  - id: demo-%03d\n    room: %s\n    title: %q\n    opens_at: %s\n    expected_duration: 2h\n",
			i+1, r.ID, r.Name+" 演示项目开标", now.Format(time.RFC3339))
	}
	return []byte(b.String())
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
