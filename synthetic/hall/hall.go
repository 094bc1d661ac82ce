package hall

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bidwatch/bidwatch/synthetic/hall/media"
)

// closeWait is how long Close lets connections finish their close handshake
// before it cuts them.
const closeWait = 3 * time.Second

// Hall is a synthetic bid-opening hall. Create it with New, serve its
// Handler on a listener, and Close it when done. All methods are safe for
// concurrent use.
type Hall struct {
	opts     Options
	log      *slog.Logger
	epoch    time.Time // the hall's monotonic clock starts here
	rooms    []*Room
	roomByID map[string]*Room
	servers  []*Server
	srvByID  map[string]*Server
	upgrader websocket.Upgrader
	mux      *http.ServeMux
	media    *media.Server // nil with Options.NoMedia
	connSeq  atomic.Uint64 // numbers connections, for ids and random seeds
	topoMu   sync.Mutex    // serialises changes of which servers host which rooms

	stop      chan struct{}  // closed by Close: room goroutines end
	roomsDone sync.WaitGroup // room goroutines
	mu        sync.Mutex     // guards closed and conns.Add
	closed    bool
	conns     sync.WaitGroup // connection readers (each owns its writer)
	closeOnce sync.Once

	pathMu      sync.Mutex // guards paths, pathByLoc and pathsClosed
	paths       []*Path
	pathByLoc   map[string]*Path
	pathsClosed bool
}

// New builds a hall from opts and starts its rooms' event loops. It returns
// an error wrapping ErrBadOptions that names every bad option.
func New(opts Options) (*Hall, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	h := &Hall{
		opts:      opts,
		log:       opts.Logger.With("component", "hall"),
		epoch:     time.Now(),
		roomByID:  make(map[string]*Room, len(opts.Rooms)),
		srvByID:   make(map[string]*Server, len(opts.Servers)),
		stop:      make(chan struct{}),
		pathByLoc: map[string]*Path{},
		upgrader: websocket.Upgrader{
			// Small buffers and a shared write-buffer pool keep an idle
			// connection at a few KiB; events are pre-framed, so the
			// write buffer only serves acks.
			ReadBufferSize:  1024,
			WriteBufferSize: 1024,
			WriteBufferPool: &sync.Pool{},
			// Participants are programs, not pages; any origin may join.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
	for i, id := range opts.Servers {
		h.servers = append(h.servers, newServer(h, id, h.seed(uint64(i))))
		h.srvByID[id] = h.servers[i]
	}
	for _, spec := range opts.Rooms {
		r := newRoom(h, spec)
		h.rooms = append(h.rooms, r)
		h.roomByID[spec.ID] = r
		for _, s := range *r.hosts.Load() {
			rooms := append(*s.rooms.Load(), r)
			s.rooms.Store(&rooms)
		}
	}
	for _, s := range h.servers {
		s.register()
	}
	if !opts.NoMedia {
		mo := opts.Media
		mo.Rooms = nil
		for _, r := range opts.Rooms {
			mo.Rooms = append(mo.Rooms, media.RoomSpec{ID: r.ID, Kind: r.Kind, Codec: r.VideoCodec})
		}
		mo.Logger = opts.Logger
		m, err := media.New(mo)
		if err != nil {
			return nil, fmt.Errorf("hall media: %w", err)
		}
		h.media = m
	}
	h.mux = h.routes()
	for _, r := range h.rooms {
		h.roomsDone.Add(1)
		go func() {
			defer h.roomsDone.Done()
			r.run(h.stop)
		}()
	}
	h.log.Info("hall started", "rooms", len(h.rooms), "servers", len(h.servers), "period", opts.Period)
	return h, nil
}

// Media is the hall's WebRTC side, nil when Options.NoMedia is set.
func (h *Hall) Media() *media.Server { return h.media }

// Handler serves the hall: the rooms' WebSocket endpoints, their WHEP and
// WHIP endpoints, the servers' health and metrics, and the admin API.
func (h *Hall) Handler() http.Handler { return h.mux }

// Period is the time between two events of a room.
func (h *Hall) Period() time.Duration { return h.opts.Period }

// Room returns the room with this id, or nil if the hall has none.
func (h *Hall) Room(id string) *Room { return h.roomByID[id] }

// Rooms returns the hall's rooms in the order they were configured.
func (h *Hall) Rooms() []*Room { return append([]*Room(nil), h.rooms...) }

// Server returns the simulated server with this id, or nil if none.
func (h *Hall) Server(id string) *Server { return h.srvByID[id] }

// Servers returns the simulated servers; the first is the default one.
func (h *Hall) Servers() []*Server { return append([]*Server(nil), h.servers...) }

// SetFaultAll sets f on every room (see Room.SetFault).
func (h *Hall) SetFaultAll(f Fault) error {
	if err := f.Validate(); err != nil {
		return err
	}
	for _, r := range h.rooms {
		if err := r.SetFault(f); err != nil {
			return err
		}
	}
	return nil
}

// ClearFaultAll clears the faults of every room.
func (h *Hall) ClearFaultAll() {
	for _, r := range h.rooms {
		r.ClearFault()
	}
}

// Close stops every room, closes every connection (with close code 1001,
// cut after a few seconds if the peer does not answer), then its network
// paths, and waits until all of the hall's goroutines have ended. It does
// not close the listener: shut the http.Server down too. Close is
// idempotent.
func (h *Hall) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		h.mu.Unlock()
		close(h.stop)
		h.roomsDone.Wait()
		for _, r := range h.rooms {
			r.closeAll()
		}
		done := make(chan struct{})
		go func() {
			h.conns.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(closeWait):
			for _, r := range h.rooms {
				r.dropAll()
			}
			<-done
		}
		if h.media != nil {
			h.media.Close()
		}
		// Last, so the close frames above reach participants on a path.
		h.closePaths()
		h.log.Info("hall closed")
	})
	return nil
}

// now is the time on the hall's monotonic clock.
func (h *Hall) now() time.Duration { return time.Since(h.epoch) }

// seed returns the n-th random seed: repeatable when Options.Seed is set.
func (h *Hall) seed(n uint64) uint64 {
	if h.opts.Seed == 0 {
		return rand.Uint64()
	}
	return h.opts.Seed*0x9e3779b97f4a7c15 + n
}

// beginConn registers a connection handler; false once the hall is closed.
func (h *Hall) beginConn() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns.Add(1)
	return true
}

// serveEvents is GET /rooms/{room}/events: checks, then the upgrade; the
// connection then lives on its own reader goroutine.
func (h *Hall) serveEvents(w http.ResponseWriter, req *http.Request) {
	r := h.Room(req.PathValue("room"))
	if r == nil {
		http.Error(w, fmt.Sprintf("unknown room %q", req.PathValue("room")), http.StatusNotFound)
		return
	}
	if !h.authorized(req) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bidwatch hall"`)
		http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
		return
	}
	if r.refusing() {
		http.Error(w, fmt.Sprintf("room %q refuses connections (injected fault)", r.id), http.StatusServiceUnavailable)
		return
	}
	if s := r.restartingHost(); s != nil {
		http.Error(w, fmt.Sprintf("room %q is down: server %q is restarting", r.id, s.id), http.StatusServiceUnavailable)
		return
	}
	if !h.beginConn() {
		http.Error(w, "hall is closing", http.StatusServiceUnavailable)
		return
	}
	ws, err := h.upgrader.Upgrade(w, req, nil)
	if err != nil {
		// The upgrader has answered the client already.
		h.conns.Done()
		r.log.Debug("upgrade failed", "remote", req.RemoteAddr, "err", err)
		return
	}
	// The connection gets a fresh goroutine and this handler returns, so
	// net/http's per-connection state (its 4 KiB read buffer, the request)
	// and its deeper stack are freed: an idle participant costs a few KiB.
	remote := req.RemoteAddr
	go func() {
		defer h.conns.Done()
		r.serve(ws, remote)
	}()
}

// authorized checks the bearer token, if the hall has one.
func (h *Hall) authorized(req *http.Request) bool {
	if h.opts.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(h.opts.Token)) == 1
}

// routes builds the hall's one ServeMux.
func (h *Hall) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rooms/{room}/events", h.serveEvents)
	def := h.servers[0]
	mux.HandleFunc("GET /healthz", def.serveHealthz)
	mux.Handle("GET /metrics", def.metrics)
	mux.HandleFunc("GET /servers/{id}/healthz", h.withServer(func(s *Server, w http.ResponseWriter, r *http.Request) {
		s.serveHealthz(w, r)
	}))
	mux.HandleFunc("GET /servers/{id}/metrics", h.withServer(func(s *Server, w http.ResponseWriter, r *http.Request) {
		s.metrics.ServeHTTP(w, r)
	}))
	if h.media != nil {
		h.media.Register(mux)
	}
	h.adminRoutes(mux)
	return mux
}

// withServer resolves {id} to a server or answers 404.
func (h *Hall) withServer(fn func(*Server, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := h.Server(r.PathValue("id"))
		if s == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown server %q", r.PathValue("id")))
			return
		}
		fn(s, w, r)
	}
}
