package hall

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health is a health fault of a simulated server: gauges pushed to a value
// (nil leaves a gauge at its baseline) and the server reported down. When
// DurationMS > 0 the fault clears itself after that long.
type Health struct {
	CPUPct     *float64 `json:"cpu_pct,omitempty"`
	MemPct     *float64 `json:"mem_pct,omitempty"`
	DBConnsPct *float64 `json:"db_conns_pct,omitempty"`
	DiskPct    *float64 `json:"disk_pct,omitempty"`
	Down       bool     `json:"down,omitempty"`
	DurationMS int      `json:"duration_ms,omitempty"`
}

// ErrBadHealth is wrapped by the error of a health fault with an
// out-of-range value.
var ErrBadHealth = errors.New("bad health")

// Validate reports every out-of-range value, each named by its JSON key.
func (h Health) Validate() error {
	var errs []error
	pct := func(key string, v *float64) {
		if v != nil && (math.IsNaN(*v) || *v < 0 || *v > 100) {
			errs = append(errs, fmt.Errorf("%w: %s: %v out of range (want 0 to 100)", ErrBadHealth, key, *v))
		}
	}
	pct("cpu_pct", h.CPUPct)
	pct("mem_pct", h.MemPct)
	pct("db_conns_pct", h.DBConnsPct)
	pct("disk_pct", h.DiskPct)
	if h.DurationMS < 0 || h.DurationMS > maxDurationMS {
		errs = append(errs, fmt.Errorf("%w: duration_ms: %d out of range (want 0 to %d)", ErrBadHealth, h.DurationMS, maxDurationMS))
	}
	return errors.Join(errs...)
}

// gauge is one of a server's resource gauges.
type gauge struct {
	name, help string
	baseline   float64
	pick       func(Health) *float64
}

// gauges are the resource gauges every simulated server exports, with the
// baselines of a quiet server.
var gauges = [...]gauge{
	{"hall_cpu_usage_percent", "CPU usage of the server, percent.", 18, func(h Health) *float64 { return h.CPUPct }},
	{"hall_memory_used_percent", "Memory used on the server, percent.", 35, func(h Health) *float64 { return h.MemPct }},
	{"hall_db_connections_used_percent", "Database connection pool in use, percent.", 22, func(h Health) *float64 { return h.DBConnsPct }},
	{"hall_disk_used_percent", "Disk space used on the server, percent.", 41, func(h Health) *float64 { return h.DiskPct }},
}

// noise is the half-width of the random wobble around a baseline.
const noise = 1.5

// healthState is a server's health fault as set, with its end time.
type healthState struct {
	set     Health
	expires time.Duration // 0 = never
}

// Server is one simulated server behind the hall's rooms: it reports
// health and resource metrics the way a real one does, and both can be
// faulted.
type Server struct {
	hall    *Hall
	id      string
	role    string                  // from Options.Roles; "" when unknown
	rooms   atomic.Pointer[[]*Room] // replaced whole (under Hall.topoMu) by a move
	log     *slog.Logger
	health  atomic.Pointer[healthState]
	load    atomic.Pointer[loadState]
	metrics http.Handler

	restartUntil atomic.Int64  // hall clock (ns): down and refusing until then
	restarts     atomic.Uint64 // restarts since the hall started

	rngMu sync.Mutex
	rng   *rand.Rand

	descs    [len(gauges)]*prometheus.Desc
	conns    *prometheus.Desc
	events   *prometheus.Desc
	restartD *prometheus.Desc
}

func newServer(h *Hall, id string, seed uint64) *Server {
	s := &Server{
		hall: h,
		id:   id,
		role: h.opts.Roles[id],
		log:  h.log.With("server", id),
		rng:  rand.New(rand.NewPCG(seed, 0x5eed)),
		conns: prometheus.NewDesc("hall_ws_connections",
			"Open WebSocket connections to the room.", []string{"room"}, nil),
		events: prometheus.NewDesc("hall_events_sent_total",
			"Event frames written to the room's connections.", []string{"room"}, nil),
		restartD: prometheus.NewDesc("hall_server_restarts_total",
			"Restarts of the server through the admin API (POST /admin/servers/{id}/restart).", nil, nil),
	}
	for i, g := range gauges {
		s.descs[i] = prometheus.NewDesc(g.name, g.help, nil, nil)
	}
	s.health.Store(&healthState{})
	s.load.Store(&loadState{})
	s.rooms.Store(&[]*Room{})
	return s
}

// register builds the server's own registry and metrics handler, once its
// rooms are known.
func (s *Server) register() {
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	s.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// ID is the server's id.
func (s *Server) ID() string { return s.id }

// Role is the server's role from Options.Roles, "" when the hall was not
// told.
func (s *Server) Role() string { return s.role }

// Restarts is the number of times the server was restarted (RestartServer).
func (s *Server) Restarts() uint64 { return s.restarts.Load() }

// Rooms returns the ids of the rooms hosted on the server.
func (s *Server) Rooms() []string {
	rooms := *s.rooms.Load()
	ids := make([]string, len(rooms))
	for i, r := range rooms {
		ids[i] = r.id
	}
	return ids
}

// SetHealth replaces the server's health fault. It returns an error
// wrapping ErrBadHealth, and changes nothing, if a value is out of range.
func (s *Server) SetHealth(h Health) error {
	if err := h.Validate(); err != nil {
		return err
	}
	st := &healthState{set: h}
	if h.DurationMS > 0 {
		st.expires = s.hall.now() + time.Duration(h.DurationMS)*time.Millisecond
	}
	s.health.Store(st)
	s.log.Info("health fault set", "down", h.Down, "duration_ms", h.DurationMS)
	return nil
}

// ClearHealth returns the server to its baseline.
func (s *Server) ClearHealth() {
	s.health.Store(&healthState{})
	s.log.Info("health fault cleared")
}

// Health is the server's health fault in force, with DurationMS the time it
// has left; the zero Health when there is none.
func (s *Server) Health() Health {
	st := s.health.Load()
	now := s.hall.now()
	if st.expires > 0 {
		if now >= st.expires {
			return Health{}
		}
		h := st.set
		h.DurationMS = int(math.Ceil(float64(st.expires-now) / float64(time.Millisecond)))
		return h
	}
	return st.set
}

// Down reports whether the server is faulted down, or restarting, now.
func (s *Server) Down() bool { return s.Health().Down || s.restarting(s.hall.now()) }

// restarting reports whether the server is in a restart's down gap at now.
func (s *Server) restarting(now time.Duration) bool {
	return now < time.Duration(s.restartUntil.Load())
}

// Describe implements prometheus.Collector.
func (s *Server) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range s.descs {
		ch <- d
	}
	ch <- s.conns
	ch <- s.events
	ch <- s.restartD
}

// Collect implements prometheus.Collector: the resource gauges (a pushed
// value exactly, else the baseline with a little noise) and the connection
// and event counts of the server's rooms.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	h := s.Health()
	s.rngMu.Lock()
	for i, g := range gauges {
		v := g.baseline + (s.rng.Float64()*2-1)*noise
		if p := g.pick(h); p != nil {
			v = *p
		}
		ch <- prometheus.MustNewConstMetric(s.descs[i], prometheus.GaugeValue, v)
	}
	s.rngMu.Unlock()
	ch <- prometheus.MustNewConstMetric(s.restartD, prometheus.CounterValue, float64(s.restarts.Load()))
	for _, r := range *s.rooms.Load() {
		ch <- prometheus.MustNewConstMetric(s.conns, prometheus.GaugeValue, float64(r.Conns()), r.id)
		ch <- prometheus.MustNewConstMetric(s.events, prometheus.CounterValue, float64(r.EventsSent()), r.id)
	}
}

// serveHealthz is GET /healthz: 200 {"status":"ok"}, or 503
// {"status":"down"} while the server is faulted down.
func (s *Server) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	if s.Down() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
