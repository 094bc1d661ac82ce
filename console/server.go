package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/console/web"
	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/dispatch"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Options are what a console needs. City, Bus, Incidents and Auth are
// required.
type Options struct {
	City      *config.Config
	Bus       *bus.Bus
	Incidents *incident.RedisStore
	Auth      *auth.Store
	// Ack checks the acknowledge links dispatch sends; nil when the city
	// has none configured.
	Ack *dispatch.AckSigner
	// History is how much of the live figures the room page gets
	// (console.history).
	History time.Duration
	// TrustForwarded trusts X-Forwarded-For and -Proto from a reverse
	// proxy in front.
	TrustForwarded bool
	// SecureCookies marks the session cookie Secure (the console is reached
	// over HTTPS).
	SecureCookies bool
	// Buffer is each live viewer's send buffer, in messages (default 16).
	Buffer int
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Server is one console replica. Everything it shows comes from Redis;
// what it keeps in memory (the live figures) it rebuilds from the samples
// stream on start.
type Server struct {
	opts    Options
	city    *config.Config
	bus     *bus.Bus
	store   *incident.RedisStore
	auth    *auth.Store
	live    *Live
	hub     *Hub
	follow  *follower
	active  incidents
	logger  *slog.Logger
	now     func() time.Time
	handler http.Handler
	up      *websocket.Upgrader
	metrics *metrics

	mu       sync.Mutex
	overview *Overview // cached for a second: a hundred screens reloading cost one build
	schedMu  sync.Mutex
	sched    []ScheduleSession
	schedAt  time.Time
	probesMu sync.Mutex
	probeVs  []ProbeView

	// kick wakes the ticker when samples arrive; states are the rooms'
	// states in the last tick sent, so a change goes out at once rather
	// than at the next second.
	kick   chan struct{}
	states map[string]string
}

// New returns a console. Run starts following Redis; Handler serves.
func New(o Options) (*Server, error) {
	if o.City == nil || o.Bus == nil || o.Incidents == nil || o.Auth == nil {
		return nil, errors.New("console: City, Bus, Incidents and Auth are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.History <= 0 {
		o.History = 10 * time.Minute
	}
	s := &Server{
		opts: o, city: o.City, bus: o.Bus, store: o.Incidents, auth: o.Auth,
		live:   NewLive(o.City, o.History),
		logger: o.Logger.With("component", "console"),
		now:    o.Now,
		up:     upgrader(o.TrustForwarded),
	}
	s.hub = NewHub(o.Buffer, s.logger)
	s.kick = make(chan struct{}, 1)
	s.follow = &follower{bus: o.Bus, live: s.live, now: o.Now, logger: s.logger, added: func() {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}}
	s.metrics = newMetrics(s)
	s.handler = s.routes()
	return s, nil
}

// Handler serves the console.
func (s *Server) Handler() http.Handler { return s.handler }

// Hub is the live feed's hub.
func (s *Server) Hub() *Hub { return s.hub }

// Live is the live figures.
func (s *Server) Live() *Live { return s.live }

// Run follows the samples stream and the incident events and sends the
// live feed its tick every second, until ctx ends.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.follow.run(ctx) })
	wg.Go(func() { s.followIncidents(ctx) })
	wg.Go(func() { s.ticker(ctx) })
	wg.Wait()
}

// Serve runs the console on ln until ctx ends, then shuts down: live
// viewers are told the console is going and reconnect elsewhere.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		cancel()
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	wg.Wait()
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// followIncidents keeps the active incidents: all of them from the store,
// then each event, passed on to the live viewers. After a Redis outage it
// reads them all again.
func (s *Server) followIncidents(ctx context.Context) {
	for ctx.Err() == nil {
		ectx, cancel := context.WithCancel(ctx)
		events := s.store.Events(ectx, "$")
		if list, err := s.store.Active(ctx); err == nil {
			s.active.set(list)
		} else if ctx.Err() == nil {
			s.logger.Debug("active incidents", "err", err)
		}
		refresh := time.NewTicker(30 * time.Second)
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case ev, ok := <-events:
				if !ok {
					break loop
				}
				s.active.apply(ev.Incident)
				s.invalidate()
				msg, _ := json.Marshal(struct {
					Type     string         `json:"type"`
					Event    string         `json:"event"`
					At       time.Time      `json:"at"`
					Actor    string         `json:"actor,omitempty"`
					Incident incident.Brief `json:"incident"`
				}{"incident", ev.Kind, ev.At, ev.Actor, ev.Incident})
				s.hub.Broadcast(msg)
			case <-refresh.C:
				// The events stream is the truth's changes; re-reading
				// the active set now and then mends anything missed
				// while Redis was away.
				if list, err := s.store.Active(ctx); err == nil {
					s.active.set(list)
				}
			}
		}
		refresh.Stop()
		cancel()
	}
}

// earliest is the least time between two ticks: new samples that change a
// room's state are sent at once, but at most this often.
const earliest = 200 * time.Millisecond

// ticker sends the tick every second, and at once (within earliest) when
// new samples change a room's state: a fault shows on the screens in the
// moment its sample arrives, not up to a second later.
func (s *Server) ticker(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.tick(ctx)
			last = time.Now()
		case <-s.kick:
			if wait := earliest - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			if s.changed() {
				s.tick(ctx)
				last = time.Now()
			}
		}
	}
}

// changed reports whether any room's live state differs from the last
// tick's.
func (s *Server) changed() bool {
	now := s.live.Now(s.now())
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range now {
		if s.states[id] != r.State {
			return true
		}
	}
	return false
}

// tick builds the second's message once and sends it to every viewer.
func (s *Server) tick(ctx context.Context) {
	now := s.now()
	if ps, err := s.probes(ctx, now); err == nil {
		s.probesMu.Lock()
		s.probeVs = ps
		s.probesMu.Unlock()
	}
	active := s.active.list()
	tiles := s.tiles(now, active, s.schedule(ctx, now))
	live := s.live.Now(now)
	states := make(map[string]string, len(live))
	for id, r := range live {
		states[id] = r.State
	}
	s.mu.Lock()
	s.states = states
	s.mu.Unlock()
	msg, err := json.Marshal(Tick{
		Type: "tick", T: now.Unix(), Rooms: tiles,
		Probes: s.lastProbes(), Source: s.source(), Incidents: active,
	})
	if err != nil {
		s.logger.Error("tick", "err", err)
		return
	}
	s.hub.Broadcast(msg)
	s.metrics.ticks.Inc()
	s.hub.ToRooms(func(room string) []byte {
		hist := s.live.History(room, now, 2*time.Second+recent*time.Second)
		if hist == nil {
			return nil
		}
		m, _ := json.Marshal(struct {
			Type  string             `json:"type"`
			Room  string             `json:"room"`
			Views map[string][]Point `json:"views"`
		}{"room", room, hist})
		return m
	})
}

func (s *Server) lastProbes() []ProbeView {
	s.probesMu.Lock()
	defer s.probesMu.Unlock()
	return s.probeVs
}

func (s *Server) source() SourceStatus {
	st := SourceStatus{OK: s.follow.ok.Load()}
	if ms := s.follow.lastRead.Load(); ms > 0 {
		st.ReadAt = time.UnixMilli(ms)
	}
	return st
}

func (s *Server) invalidate() {
	s.mu.Lock()
	s.overview = nil
	s.mu.Unlock()
}

// Overview returns the big screen's contents, built at most once a second.
func (s *Server) Overview(ctx context.Context) (*Overview, error) {
	now := s.now()
	s.mu.Lock()
	if o := s.overview; o != nil && now.Sub(o.Now) < time.Second && now.Sub(o.Now) >= 0 {
		s.mu.Unlock()
		return o, nil
	}
	s.mu.Unlock()
	probes, err := s.probes(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("probe heartbeats: %w", err)
	}
	sched := s.schedule(ctx, now)
	active := s.active.list()
	tiles := s.tiles(now, active, sched)
	o := &Overview{City: cityRef(s.city.City), Now: now, Incidents: active, Probes: probes, Sparks: s.live.Sparks(now, 120*time.Second), Source: s.source()}
	for _, sc := range s.city.SubCenters {
		v := SubCenterView{ID: sc.ID, Name: sc.Name, Kind: string(sc.Kind), Rooms: []Tile{}}
		for _, r := range s.city.Rooms {
			if r.SubCenter == sc.ID {
				v.Rooms = append(v.Rooms, tiles[r.ID])
			}
		}
		o.SubCenters = append(o.SubCenters, v)
	}
	s.mu.Lock()
	s.overview = o
	s.mu.Unlock()
	return o, nil
}

// sameOrigin reports whether a request's Origin is the console itself (a
// request without one, from a non-browser client, is let through: it
// carries no cookie a page could have borrowed).
func sameOrigin(r *http.Request, trustForwarded bool) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	host := r.Host
	if trustForwarded {
		if h := r.Header.Get("X-Forwarded-Host"); h != "" {
			host = strings.TrimSpace(strings.Split(h, ",")[0])
		}
	}
	return strings.EqualFold(u.Host, host)
}

// securityHeaders are set on every response.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", web.CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
