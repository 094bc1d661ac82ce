package hall

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// maxAdminBody bounds an admin request body.
const maxAdminBody = 64 << 10

// roomInfo is a room as GET /admin/rooms lists it.
type roomInfo struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	Servers []string `json:"servers"`
	Conns   int      `json:"conns"`
	Seq     uint64   `json:"seq"`
	Fault   Fault    `json:"fault"`
}

// serverInfo is a server as GET /admin/servers lists it.
type serverInfo struct {
	ID       string   `json:"id"`
	Rooms    []string `json:"rooms"`
	Role     string   `json:"role,omitempty"`
	Status   string   `json:"status"`
	Health   Health   `json:"health"`
	Load     *Load    `json:"load,omitempty"`
	Restarts uint64   `json:"restarts,omitempty"`
}

// pathInfo is a network path as GET /admin/paths lists it.
type pathInfo struct {
	Location string  `json:"location"`
	Addr     string  `json:"addr"`
	DelayMS  float64 `json:"delay_ms"`
	Cut      bool    `json:"cut"`
	Conns    int     `json:"conns"`
}

// adminRoutes adds the admin API to mux (docs/hall-protocol.md).
func (h *Hall) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/rooms", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, h.roomInfos())
	})
	mux.HandleFunc("GET /admin/rooms/{room}/fault", h.withRoom(func(r *Room, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, r.Fault())
	}))
	mux.HandleFunc("POST /admin/rooms/{room}/fault", h.withRoom(func(r *Room, w http.ResponseWriter, req *http.Request) {
		var f Fault
		if !decodeBody(w, req, &f, "fault") {
			return
		}
		if err := r.SetFault(f); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, r.Fault())
	}))
	mux.HandleFunc("DELETE /admin/rooms/{room}/fault", h.withRoom(func(r *Room, w http.ResponseWriter, _ *http.Request) {
		r.ClearFault()
		writeJSON(w, http.StatusOK, r.Fault())
	}))
	mux.HandleFunc("POST /admin/faults", func(w http.ResponseWriter, req *http.Request) {
		var f Fault
		if !decodeBody(w, req, &f, "fault") {
			return
		}
		if err := h.SetFaultAll(f); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, h.roomInfos())
	})
	mux.HandleFunc("DELETE /admin/faults", func(w http.ResponseWriter, _ *http.Request) {
		h.ClearFaultAll()
		writeJSON(w, http.StatusOK, h.roomInfos())
	})

	mux.HandleFunc("GET /admin/servers", func(w http.ResponseWriter, _ *http.Request) {
		infos := make([]serverInfo, len(h.servers))
		for i, s := range h.servers {
			infos[i] = s.info()
		}
		writeJSON(w, http.StatusOK, infos)
	})
	mux.HandleFunc("GET /admin/servers/{id}/health", h.withServer(func(s *Server, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Health())
	}))
	mux.HandleFunc("POST /admin/servers/{id}/health", h.withServer(func(s *Server, w http.ResponseWriter, req *http.Request) {
		var hl Health
		if !decodeBody(w, req, &hl, "health") {
			return
		}
		if err := s.SetHealth(hl); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.Health())
	}))
	mux.HandleFunc("DELETE /admin/servers/{id}/health", h.withServer(func(s *Server, w http.ResponseWriter, _ *http.Request) {
		s.ClearHealth()
		writeJSON(w, http.StatusOK, s.Health())
	}))

	mux.HandleFunc("GET /admin/servers/{id}/load", h.withServer(func(s *Server, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Load())
	}))
	mux.HandleFunc("POST /admin/servers/{id}/load", h.withServer(func(s *Server, w http.ResponseWriter, req *http.Request) {
		var l Load
		if !decodeBody(w, req, &l, "load") {
			return
		}
		if err := s.SetLoad(l); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.Load())
	}))
	mux.HandleFunc("DELETE /admin/servers/{id}/load", h.withServer(func(s *Server, w http.ResponseWriter, _ *http.Request) {
		s.ClearLoad()
		writeJSON(w, http.StatusOK, s.Load())
	}))
	h.remedyRoutes(mux)

	mux.HandleFunc("GET /admin/paths", func(w http.ResponseWriter, _ *http.Request) {
		paths := h.Paths()
		infos := make([]pathInfo, len(paths))
		for i, p := range paths {
			infos[i] = p.info()
		}
		writeJSON(w, http.StatusOK, infos)
	})
	mux.HandleFunc("GET /admin/paths/{location}", h.withPath(func(p *Path, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, p.info())
	}))
	mux.HandleFunc("POST /admin/paths/{location}", h.withPath(func(p *Path, w http.ResponseWriter, req *http.Request) {
		var f PathFault
		if !decodeBody(w, req, &f, "path fault") {
			return
		}
		if err := p.SetFault(f); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, p.info())
	}))
	mux.HandleFunc("DELETE /admin/paths/{location}", h.withPath(func(p *Path, w http.ResponseWriter, _ *http.Request) {
		p.ClearFault()
		writeJSON(w, http.StatusOK, p.info())
	}))
}

// info describes the path for GET /admin/paths.
func (p *Path) info() pathInfo {
	f := p.Fault()
	return pathInfo{Location: p.location, Addr: p.Addr(), DelayMS: f.DelayMS, Cut: f.Cut, Conns: p.Conns()}
}

// withPath resolves {location} to a path or answers 404.
func (h *Hall) withPath(fn func(*Path, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		p := h.Path(req.PathValue("location"))
		if p == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown path %q", req.PathValue("location")))
			return
		}
		fn(p, w, req)
	}
}

// roomInfos lists every room.
func (h *Hall) roomInfos() []roomInfo {
	infos := make([]roomInfo, len(h.rooms))
	for i, r := range h.rooms {
		infos[i] = r.info()
	}
	return infos
}

// info describes the room for GET /admin/rooms.
func (r *Room) info() roomInfo {
	return roomInfo{
		ID: r.id, Kind: r.kind, Servers: r.Servers(),
		Conns: r.Conns(), Seq: r.Seq(), Fault: r.Fault(),
	}
}

// info describes the server for GET /admin/servers.
func (s *Server) info() serverInfo {
	status := "ok"
	if s.Down() {
		status = "down"
	}
	info := serverInfo{ID: s.id, Rooms: s.Rooms(), Role: s.role, Status: status, Health: s.Health(), Restarts: s.Restarts()}
	if l := s.Load(); l != (Load{}) {
		info.Load = &l
	}
	return info
}

// withRoom resolves {room} to a room or answers 404.
func (h *Hall) withRoom(fn func(*Room, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		r := h.Room(req.PathValue("room"))
		if r == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown room %q", req.PathValue("room")))
			return
		}
		fn(r, w, req)
	}
}

// decodeBody decodes the request body strictly into v, one JSON object with
// known fields only. On failure it answers 400 with what to fix and returns
// false.
func decodeBody(w http.ResponseWriter, req *http.Request, v any, what string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	} else if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var msg string
	var te *json.UnmarshalTypeError
	var me *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		msg = fmt.Sprintf("empty body: send a %s as a JSON object (known fields: %s)", what, knownFields(v))
	case errors.As(err, &me):
		msg = fmt.Sprintf("body larger than %d bytes", me.Limit)
	case errors.As(err, &te) && te.Field != "":
		msg = fmt.Sprintf("%s: %s: want a %s, got %s", what, te.Field, te.Type, te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		msg = fmt.Sprintf("%s: unknown field %s (known fields: %s)", what, field, knownFields(v))
	default:
		msg = fmt.Sprintf("%s: malformed JSON: %v", what, err)
	}
	writeError(w, http.StatusBadRequest, msg)
	return false
}

// knownFields lists the JSON keys of the struct v points to.
func knownFields(v any) string {
	var keys []string
	seen := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
				walk(f.Type) // promoted fields, as encoding/json sees them
			case name != "" && name != "-" && !seen[name]:
				seen[name] = true
				keys = append(keys, name)
			}
		}
	}
	walk(reflect.TypeOf(v).Elem())
	return strings.Join(keys, ", ")
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
