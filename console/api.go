package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/console/web"
	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/watchdog/health"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// routes is the console's mux: the static UI and login without a session,
// everything else behind one.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("POST /api/login", s.login)
	mux.Handle("POST /api/logout", s.authed(auth.ActionView, s.logout))
	mux.Handle("GET /api/me", s.authed(auth.ActionView, s.me))
	mux.Handle("GET /api/overview", s.authed(auth.ActionView, s.getOverview))
	mux.Handle("GET /api/rooms/{id}", s.authed(auth.ActionView, s.getRoom))
	mux.Handle("POST /api/rooms/{id}/probe", s.authed(auth.ActionProbe, s.probeNow))
	mux.Handle("GET /api/incidents", s.authed(auth.ActionView, s.listIncidents))
	mux.Handle("GET /api/incidents/export", s.authed(auth.ActionView, s.exportIncidents))
	mux.Handle("GET /api/incidents/{id}", s.authed(auth.ActionView, s.getIncident))
	for name, a := range incidentActions {
		mux.Handle("POST /api/incidents/{id}/"+name, s.authed(a.right, s.actOn(name)))
	}
	mux.Handle("GET /api/schedule", s.authed(auth.ActionView, s.getSchedule))
	mux.Handle("GET /api/ack", s.authed(auth.ActionView, s.ackLink))
	mux.Handle("POST /api/ack", s.authed(auth.ActionAck, s.ackWithLink))
	mux.Handle("GET /api/live", s.authed(auth.ActionView, s.liveFeed))
	mux.Handle("GET /api/reports/options", s.authed(auth.ActionView, s.getReportOptions))
	mux.Handle("GET /api/reports/build", s.authed(auth.ActionView, s.buildReport))
	mux.Handle("GET /api/reports/files", s.authed(auth.ActionView, s.listStoredReports))
	mux.HandleFunc("GET /reports/{id}", s.storedReportPage)
	mux.Handle("GET /metrics", s.authed(auth.ActionView, func(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
		promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	}))
	// Anything else under /api is unknown — but only a signed-in user
	// learns that.
	mux.Handle("/api/", s.authed(auth.ActionView, func(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
		writeError(w, http.StatusNotFound, "no such API path")
	}))
	// The page: its files, and index.html for each of its routes (/,
	// /rooms/ID, /incidents/ID, /ack?…). It asks the API, which wants a
	// login, for everything it shows.
	mux.Handle("/", web.Handler())
	return securityHeaders(mux)
}

// handlerFunc is an API handler that knows who asks.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal)

// authed lets a request through with a session or an API token, whose
// user's role may do a; a change (any method but GET) from a browser
// session must carry its CSRF token as well.
func (s *Server) authed(a auth.Action, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.auth.Authenticate(r)
		if err != nil {
			if !auth.Unauthenticated(err) {
				s.logger.Warn("authenticate", "err", err)
				writeError(w, http.StatusServiceUnavailable, "cannot check the session now (Redis unreachable)")
				return
			}
			writeError(w, http.StatusUnauthorized, "sign in first (请先登录)")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := auth.RequireCSRF(r, p); err != nil {
				writeError(w, http.StatusForbidden, "missing or wrong CSRF token: reload the page (页面已过期，请刷新)")
				return
			}
			if !sameOrigin(r, s.opts.TrustForwarded) {
				writeError(w, http.StatusForbidden, "cross-origin request refused")
				return
			}
		}
		if !auth.Allowed(p.User.Role, a) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s may not %s (权限不足)", p.User.Role, a))
			return
		}
		h(w, r, p)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.bus.Ping(ctx); err != nil {
		http.Error(w, "redis unreachable", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// userView is a user as the API shows them.
type userView struct {
	Name    string    `json:"name"`
	Display string    `json:"display,omitempty"`
	Role    auth.Role `json:"role"`
}

func viewOf(u auth.User) userView { return userView{Name: u.Name, Display: u.Display, Role: u.Role} }

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !sameOrigin(r, s.opts.TrustForwarded) {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	addr := auth.ClientAddr(r, s.opts.TrustForwarded)
	sess, err := s.auth.Login(r.Context(), req.Name, req.Password, addr)
	var limited *auth.RateLimitedError
	switch {
	case errors.As(err, &limited):
		s.metrics.logins.WithLabelValues("limited").Inc()
		secs := int(limited.RetryAfter.Seconds() + 0.999)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many attempts: try again in %d s (尝试过多)", max(secs, 1)))
		s.logger.Warn("login attempts over the limit", "user", s.loggedName(r.Context(), req.Name), "addr", addr)
		return
	case errors.Is(err, auth.ErrBadLogin):
		s.metrics.logins.WithLabelValues("refused").Inc()
		writeError(w, http.StatusUnauthorized, "wrong name or password (用户名或密码错误)")
		s.logger.Info("login refused", "user", s.loggedName(r.Context(), req.Name), "addr", addr)
		return
	case err != nil:
		s.metrics.logins.WithLabelValues("error").Inc()
		writeError(w, http.StatusServiceUnavailable, "cannot sign in now (Redis unreachable)")
		s.logger.Warn("login", "err", err)
		return
	}
	s.metrics.logins.WithLabelValues("ok").Inc()
	u, err := s.auth.Get(r.Context(), sess.User)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "cannot sign in now (Redis unreachable)")
		return
	}
	auth.SetSessionCookie(w, sess, s.opts.SecureCookies || r.TLS != nil)
	s.logger.Info("signed in", "user", u.Name, "addr", addr)
	writeJSON(w, http.StatusOK, map[string]any{"user": viewOf(u), "csrf": sess.CSRF, "city": cityRef(s.city.City)})
}

// loggedName is a refused login's name as the log may show it: a name no
// user has is left out, for it may be a password typed in the wrong field.
func (s *Server) loggedName(ctx context.Context, name string) string {
	if _, err := s.auth.Get(ctx, name); err != nil {
		return "(no such user)"
	}
	return name
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !p.ViaToken {
		if c, err := r.Cookie(auth.CookieName); err == nil {
			_ = s.auth.Logout(r.Context(), c.Value)
		}
		auth.ClearSessionCookie(w, s.opts.SecureCookies || r.TLS != nil)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, _ *http.Request, p auth.Principal) {
	writeJSON(w, http.StatusOK, map[string]any{"user": viewOf(p.User), "csrf": p.CSRF, "city": cityRef(s.city.City)})
}

func (s *Server) getOverview(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	o, err := s.Overview(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// serverView is a server of a room with its latest health.
type serverView struct {
	ID       string           `json:"id"`
	Name     string           `json:"name"`
	Role     string           `json:"role"`
	State    string           `json:"state"`
	Readings []health.Reading `json:"readings"`
}

func (s *Server) getRoom(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	id := r.PathValue("id")
	room, ok := s.city.Room(id)
	if !ok {
		writeError(w, http.StatusNotFound, "no such room")
		return
	}
	ctx := r.Context()
	now := s.now()
	readings, err := s.healthOf(ctx, room.Servers)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "Redis unreachable")
		return
	}
	servers := []serverView{}
	for _, sid := range room.Servers {
		sv := serverView{ID: sid, State: StateUnknown, Readings: readings[sid]}
		if srv, ok := s.city.Server(sid); ok {
			sv.Name, sv.Role = srv.Name, string(srv.Role)
		}
		sv.State = serverState(sv.Readings, now)
		servers = append(servers, sv)
	}
	sched := s.schedule(ctx, now)
	sessions := []ScheduleSession{}
	for _, ss := range sched {
		if ss.Room == id {
			sessions = append(sessions, ss)
		}
	}
	hist, _ := s.store.List(ctx, incident.Filter{From: now.AddDate(0, 0, -30)})
	incs := []incident.Brief{}
	for i := len(hist) - 1; i >= 0 && len(incs) < 50; i-- {
		b := hist[i].Brief()
		if slices.Contains(b.Rooms, id) || (len(b.Servers) > 0 && slices.ContainsFunc(b.Servers, func(sv string) bool { return slices.Contains(room.Servers, sv) })) {
			incs = append(incs, b)
		}
	}
	tile := s.tiles(now, s.active.list(), sched)[id]
	writeJSON(w, http.StatusOK, map[string]any{
		"room": tile, "servers": servers, "sessions": sessions, "incidents": incs,
		"history_s": int(s.opts.History.Seconds()), "views": s.live.History(id, now, s.opts.History),
		"thresholds": map[string]float64{"rtt_ms": ms(s.live.th.RTT), "critical_ms": ms(s.live.th.Critical)},
	})
}

// serverState is ok when its newest readings all pass, down when all fail,
// degraded in between, unknown with none fresh.
func serverState(rs []health.Reading, now time.Time) string {
	okN, badN := 0, 0
	for _, r := range rs {
		if now.Sub(r.At) > 2*time.Minute {
			continue
		}
		if r.OK {
			okN++
		} else {
			badN++
		}
	}
	switch {
	case okN+badN == 0:
		return StateUnknown
	case badN == 0:
		return StateOK
	case okN == 0:
		return StateDown
	}
	return StateDegraded
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	now := s.now()
	sched := s.schedule(r.Context(), now)
	out := make([]ScheduleSession, 0, len(sched))
	for _, ss := range sched {
		if ss.EndsAt.After(now.Add(-12 * time.Hour)) {
			out = append(out, ss)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out, "now": now})
}

func (s *Server) probeNow(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id := r.PathValue("id")
	if _, ok := s.city.Room(id); !ok {
		writeError(w, http.StatusNotFound, "no such room")
		return
	}
	var req struct {
		Minutes  int    `json:"minutes"`
		Location string `json:"location"`
	}
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Minutes == 0 {
		req.Minutes = 10
	}
	if req.Minutes < 1 || req.Minutes > 240 {
		writeError(w, http.StatusBadRequest, "minutes: between 1 and 240")
		return
	}
	c := bus.Command{Kind: bus.CommandProbeNow, Room: id, For: time.Duration(req.Minutes) * time.Minute, At: s.now(), Location: req.Location, By: p.User.Actor()}
	if err := c.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	cid, err := s.bus.SendCommand(r.Context(), c)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "Redis unreachable")
		return
	}
	s.logger.Info("probe now", "room", id, "minutes", req.Minutes, "user", p.User.Name)
	writeJSON(w, http.StatusAccepted, map[string]any{"command": cid, "room": id, "minutes": req.Minutes})
}

func (s *Server) liveFeed(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	o, err := s.Overview(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	hello, err := json.Marshal(struct {
		Type string `json:"type"`
		*Overview
	}{"hello", o})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "hello")
		return
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	still := func() bool {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		_, err := s.auth.Authenticate(r.WithContext(ctx))
		// Only a refusal ends the feed; Redis away is not the viewer's doing.
		return err == nil || !auth.Unauthenticated(err)
	}
	s.hub.serve(r.Context(), conn, hello, still)
}

func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errors.New("could not read the request")
	}
	if len(body) > maxBody {
		return errors.New("request too large")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errors.New("request is not the JSON expected")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
