package hall

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/synthetic/hall/media"
)

// Room kinds, as in bidwatch's configuration.
const (
	// KindOpeningHall is a remote bid-opening hall (不见面开标大厅).
	KindOpeningHall = "opening-hall"
	// KindCoordinationRoom is a remote coordination room (远程协调室) for
	// off-site bid evaluation.
	KindCoordinationRoom = "coordination-room"
)

// Defaults of Options.
const (
	DefaultServer      = "hall"
	DefaultPeriod      = time.Second
	DefaultReadLimit   = 64 << 10
	DefaultJoinTimeout = 10 * time.Second
	defaultRoomCount   = 4
)

// RoomSpec describes one room the hall hosts.
type RoomSpec struct {
	// ID names the room in URLs: /rooms/{ID}/events.
	ID string
	// Kind is KindOpeningHall (the default) or KindCoordinationRoom.
	Kind string
	// Servers are the ids of the simulated servers hosting the room; its
	// connection and event metrics show on each. Empty means the first of
	// Options.Servers.
	Servers []string
	// VideoCodec is the codec of the room's video, "vp8" (the default) or
	// "h264" (see media.RoomSpec).
	VideoCodec string
}

// Options configures a Hall. The zero value is a working hall: rooms room-1
// to room-4, opening halls, on one server "hall", one event a second.
type Options struct {
	// Rooms the hall hosts; empty means room-1 … room-4.
	Rooms []RoomSpec
	// Servers are the ids of the simulated servers; the first is the
	// default server behind /healthz and /metrics. Empty means "hall".
	Servers []string
	// Roles optionally gives servers their role, as in bidwatch's
	// configuration (web, ws-gateway, media, db): server id → role. The
	// hall uses it only to know a room's media server and the servers a
	// room can move to (Hall.MoveRoom); without it any server can be.
	Roles map[string]string
	// Period between two events of a room; zero means 1 s.
	Period time.Duration
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// the WebSocket upgrade.
	Token string
	// ReadLimit is the largest message accepted from a participant; a
	// larger one closes the connection with 1009. Zero means 64 KiB.
	ReadLimit int64
	// JoinTimeout is how long a connection may go without a valid join
	// before it is closed with 1008. Zero means 10 s.
	JoinTimeout time.Duration
	// Seed, when non-zero, makes loss, jitter and metric noise repeatable.
	Seed uint64
	// NoMedia turns the WebRTC side off: no WHEP/WHIP endpoints, no media
	// faults.
	NoMedia bool
	// Media configures the WebRTC side (fps, keyframe interval, network);
	// its Rooms and Logger are taken from the hall's.
	Media media.Options
	// Logger receives the hall's logs; nil discards them.
	Logger *slog.Logger
}

// withDefaults returns a copy of o with every zero field defaulted.
func (o Options) withDefaults() Options {
	if len(o.Servers) == 0 {
		o.Servers = []string{DefaultServer}
	}
	if len(o.Rooms) == 0 {
		for i := 1; i <= defaultRoomCount; i++ {
			o.Rooms = append(o.Rooms, RoomSpec{ID: fmt.Sprintf("room-%d", i)})
		}
	}
	rooms := make([]RoomSpec, len(o.Rooms))
	for i, r := range o.Rooms {
		if r.Kind == "" {
			r.Kind = KindOpeningHall
		}
		if len(r.Servers) == 0 {
			r.Servers = []string{o.Servers[0]}
		}
		rooms[i] = r
	}
	o.Rooms = rooms
	if o.Period <= 0 {
		o.Period = DefaultPeriod
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.JoinTimeout <= 0 {
		o.JoinTimeout = DefaultJoinTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ErrBadOptions is wrapped by every error New returns for bad options.
var ErrBadOptions = errors.New("bad hall options")

// validate reports every problem of defaulted options, each prefixed by the
// option's path and quoting the bad value.
func (o Options) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrBadOptions}, args...)...))
	}
	servers := make(map[string]bool, len(o.Servers))
	for i, s := range o.Servers {
		switch {
		case !validID(s):
			bad("servers[%d]: bad server id %q (want letters, digits, '-', '_' or '.')", i, s)
		case servers[s]:
			bad("servers[%d]: duplicate server %q", i, s)
		}
		servers[s] = true
	}
	for _, id := range sortedKeys(o.Roles) {
		if !servers[id] {
			bad("roles[%s]: unknown server %q", id, id)
		}
	}
	rooms := make(map[string]bool, len(o.Rooms))
	for i, r := range o.Rooms {
		switch {
		case !validID(r.ID):
			bad("rooms[%d].id: bad room id %q (want letters, digits, '-', '_' or '.')", i, r.ID)
		case rooms[r.ID]:
			bad("rooms[%d].id: duplicate room %q", i, r.ID)
		}
		rooms[r.ID] = true
		if r.Kind != KindOpeningHall && r.Kind != KindCoordinationRoom {
			bad("rooms[%d].kind: unknown kind %q (want %q or %q)", i, r.Kind, KindOpeningHall, KindCoordinationRoom)
		}
		for j, s := range r.Servers {
			if !servers[s] {
				bad("rooms[%d].servers[%d]: unknown server %q", i, j, s)
			}
		}
	}
	if o.Period < time.Millisecond {
		bad("period: %s is shorter than 1ms", o.Period)
	}
	return errors.Join(errs...)
}

// sortedKeys returns m's keys in order, so errors come out the same way
// every time.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validID reports whether s can name a room or server in a URL path.
func validID(s string) bool {
	if s == "" || len(s) > 128 || s == "." || s == ".." {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) < 0
}
