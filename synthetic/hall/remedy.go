package hall

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Remediation: what the on-site staff do to a sick hall — restart a
// server, move a room to another media server, clear a stuck room — as
// Go methods and admin endpoints, so a runbook can fix what a drill broke.

// MediaRole is the role (Options.Roles) of a media server, as in bidwatch's
// configuration.
const MediaRole = "media"

// maxRestartDown bounds a restart's down gap.
const maxRestartDown = 10 * time.Minute

// Errors of the remediation actions; the admin API answers them with 404,
// 400 and 409.
var (
	// ErrUnknownRoom: no room has this id.
	ErrUnknownRoom = errors.New("unknown room")
	// ErrUnknownServer: no server has this id.
	ErrUnknownServer = errors.New("unknown server")
	// ErrBadRemedy: an argument is out of range.
	ErrBadRemedy = errors.New("bad remediation")
	// ErrNotPossible: the action cannot be done on the hall as it is.
	ErrNotPossible = errors.New("not possible")
)

// RestartServer restarts a simulated server as its staff would: its health
// fault and load are cleared, the faults of every room it hosts are
// cleared, and every connection of those rooms is dropped (participants
// reconnect, as after a real gateway restart). With downFor > 0 the server
// first stays down that long: its healthz answers 503 and its rooms refuse
// new connections with 503. A restart without a gap ends the gap of an
// earlier one. The server's restart count (Server.Restarts,
// hall_server_restarts_total) goes up by one.
func (h *Hall) RestartServer(id string, downFor time.Duration) error {
	s := h.Server(id)
	if s == nil {
		return fmt.Errorf("restart server %q: %w", id, ErrUnknownServer)
	}
	if downFor < 0 || downFor > maxRestartDown {
		return fmt.Errorf("restart server %q: %w: down for %s (want 0 to %s)", id, ErrBadRemedy, downFor, maxRestartDown)
	}
	// A move waits, so no room slips in or out of the server meanwhile.
	h.topoMu.Lock()
	defer h.topoMu.Unlock()
	s.restartUntil.Store(int64(h.now() + downFor))
	s.restarts.Add(1)
	s.health.Store(&healthState{})
	s.load.Store(&loadState{})
	rooms := *s.rooms.Load()
	for _, r := range rooms {
		r.ClearFault()
		r.dropAll()
	}
	s.log.Info("server restarted", "down_ms", downFor.Milliseconds(), "rooms", len(rooms))
	return nil
}

// ClearRoom clears a stuck room: every fault cleared (a stall ended,
// silence ended, refusal lifted, media faults cleared) and every
// connection dropped, so participants reconnect to a fresh room.
func (h *Hall) ClearRoom(id string) error {
	r := h.Room(id)
	if r == nil {
		return fmt.Errorf("clear room %q: %w", id, ErrUnknownRoom)
	}
	r.ClearFault()
	r.dropAll()
	r.log.Info("room cleared")
	return nil
}

// MoveRoom moves a room to the media server media: media takes the place
// of the room's current media server in its server list, so from now on
// the old server's load no longer delays the room's frames and the new
// one's does; its metrics show on the new server. Connections stay up (the
// gateway did not change); frames already queued keep their delay.
//
// The room's current media server is its one server of role MediaRole
// when the hall knows roles (Options.Roles), and then media must be a
// media server; without roles any server can be moved to, and a room with
// more than one server needs MoveRoomFrom. It fails with ErrUnknownRoom,
// ErrUnknownServer, or ErrNotPossible (media is not a media server, the
// room is on it already, or which server to replace is unclear).
func (h *Hall) MoveRoom(room, media string) error { return h.MoveRoomFrom(room, "", media) }

// MoveRoomFrom is MoveRoom replacing the room's server from (when not "")
// rather than its media server.
func (h *Hall) MoveRoomFrom(room, from, to string) error {
	wrap := func(err error) error { return fmt.Errorf("move room %q to %q: %w", room, to, err) }
	r := h.Room(room)
	if r == nil {
		return wrap(ErrUnknownRoom)
	}
	dst := h.Server(to)
	if dst == nil {
		return wrap(fmt.Errorf("%w %q", ErrUnknownServer, to))
	}
	if from != "" && h.Server(from) == nil {
		return wrap(fmt.Errorf("%w %q", ErrUnknownServer, from))
	}
	roles := len(h.opts.Roles) > 0
	if roles && dst.role != MediaRole {
		return wrap(fmt.Errorf("%w: server %q is %s, not a media server", ErrNotPossible, to, roleName(dst.role)))
	}

	h.topoMu.Lock()
	defer h.topoMu.Unlock()
	hosts := *r.hosts.Load()
	if slices.Contains(hosts, dst) {
		return wrap(fmt.Errorf("%w: the room is on server %q already", ErrNotPossible, to))
	}
	idx, err := replaced(hosts, from, roles)
	if err != nil {
		return wrap(err)
	}
	src := hosts[idx]
	next := slices.Clone(hosts)
	next[idx] = dst
	r.hosts.Store(&next)
	if !slices.Contains(next, src) {
		rooms := slices.DeleteFunc(slices.Clone(*src.rooms.Load()), func(x *Room) bool { return x == r })
		src.rooms.Store(&rooms)
	}
	rooms := append(slices.Clone(*dst.rooms.Load()), r)
	dst.rooms.Store(&rooms)
	r.log.Info("room moved", "from", src.id, "to", dst.id)
	return nil
}

// replaced picks the index in hosts of the server a move replaces: from
// when named, else the one media server (with roles), else the only server.
func replaced(hosts []*Server, from string, roles bool) (int, error) {
	ids := func(ss []*Server) string {
		names := make([]string, len(ss))
		for i, s := range ss {
			names[i] = fmt.Sprintf("%q", s.id)
		}
		return strings.Join(names, ", ")
	}
	if from != "" {
		i := slices.IndexFunc(hosts, func(s *Server) bool { return s.id == from })
		if i < 0 {
			return 0, fmt.Errorf("%w: the room is not on server %q (its servers: %s)", ErrNotPossible, from, ids(hosts))
		}
		if roles && hosts[i].role != MediaRole {
			return 0, fmt.Errorf("%w: server %q is %s, not the room's media server", ErrNotPossible, from, roleName(hosts[i].role))
		}
		return i, nil
	}
	if !roles {
		if len(hosts) == 1 {
			return 0, nil
		}
		return 0, fmt.Errorf("%w: the hall does not know server roles and the room has %d servers (%s): name the one to replace with \"from\"",
			ErrNotPossible, len(hosts), ids(hosts))
	}
	var media []int
	for i, s := range hosts {
		if s.role == MediaRole {
			media = append(media, i)
		}
	}
	switch len(media) {
	case 0:
		return 0, fmt.Errorf("%w: the room has no media server (its servers: %s)", ErrNotPossible, ids(hosts))
	case 1:
		return media[0], nil
	default:
		ms := make([]*Server, len(media))
		for i, j := range media {
			ms[i] = hosts[j]
		}
		return 0, fmt.Errorf("%w: the room has %d media servers (%s): name the one to replace with \"from\"", ErrNotPossible, len(media), ids(ms))
	}
}

// roleName describes a role in an error.
func roleName(role string) string {
	if role == "" {
		return "of no known role"
	}
	return "a " + role + " server"
}

// restartBody is the optional body of POST /admin/servers/{id}/restart.
type restartBody struct {
	DownMS int `json:"down_ms,omitempty"`
}

// moveBody is the body of POST /admin/rooms/{room}/move.
type moveBody struct {
	Media string `json:"media"`
	From  string `json:"from,omitempty"`
}

// remedyRoutes adds the remediation endpoints to mux (docs/hall-protocol.md).
func (h *Hall) remedyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/servers/{id}/restart", h.withServer(func(s *Server, w http.ResponseWriter, req *http.Request) {
		var b restartBody
		if req.ContentLength != 0 && !decodeBody(w, req, &b, "restart") {
			return
		}
		if b.DownMS < 0 || b.DownMS > int(maxRestartDown/time.Millisecond) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("restart: down_ms: %d out of range (want 0 to %d)", b.DownMS, maxRestartDown/time.Millisecond))
			return
		}
		if err := h.RestartServer(s.id, time.Duration(b.DownMS)*time.Millisecond); err != nil {
			writeError(w, remedyStatus(err), err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.info())
	}))
	mux.HandleFunc("POST /admin/rooms/{room}/move", h.withRoom(func(r *Room, w http.ResponseWriter, req *http.Request) {
		var b moveBody
		if !decodeBody(w, req, &b, "move") {
			return
		}
		if b.Media == "" {
			writeError(w, http.StatusBadRequest, `move: "media" is required: the id of the media server to move the room to`)
			return
		}
		if err := h.MoveRoomFrom(r.id, b.From, b.Media); err != nil {
			writeError(w, remedyStatus(err), err.Error())
			return
		}
		writeJSON(w, http.StatusOK, r.info())
	}))
	mux.HandleFunc("POST /admin/rooms/{room}/clear", h.withRoom(func(r *Room, w http.ResponseWriter, _ *http.Request) {
		if err := h.ClearRoom(r.id); err != nil {
			writeError(w, remedyStatus(err), err.Error())
			return
		}
		writeJSON(w, http.StatusOK, r.info())
	}))
}

// remedyStatus is the HTTP status of a remediation error.
func remedyStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnknownRoom), errors.Is(err, ErrUnknownServer):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRemedy):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotPossible):
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}
