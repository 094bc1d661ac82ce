package report

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bidwatch/bidwatch/internal/config"
)

// ErrUnknownScope: the scope names no sub-center or room of the
// configuration, or is not a scope at all.
var ErrUnknownScope = errors.New("unknown scope")

// ScopeError says what is wrong with a scope and what would be right.
type ScopeError struct {
	Scope string
	// Problem says what is wrong; Known lists the ids that would do.
	Problem string
	Known   []string
}

func (e *ScopeError) Error() string {
	msg := fmt.Sprintf("scope %q: %s", e.Scope, e.Problem)
	if len(e.Known) > 0 {
		msg += " (known: " + strings.Join(e.Known, ", ") + ")"
	}
	return msg
}

// Unwrap makes a ScopeError an ErrUnknownScope.
func (e *ScopeError) Unwrap() error { return ErrUnknownScope }

// Scope kinds.
const (
	ScopeCity      = "city"
	ScopeSubCenter = "sub-center"
	ScopeRoom      = "room"
)

// resolved is a scope with the rooms and servers it covers.
type resolved struct {
	Scope
	rooms   map[string]bool // nil: every room (the city)
	servers map[string]bool // nil: every server
	subs    map[string]bool // the sub-centers hosting its rooms (nil: all)
}

// ParseScope reads a scope against the configuration: "city" (or ""),
// "sub-center:<id>" or "room:<id>". An unknown one is a *ScopeError.
func ParseScope(scope string, c *config.Config) (Scope, error) {
	r, err := resolveScope(scope, c)
	return r.Scope, err
}

func resolveScope(scope string, c *config.Config) (resolved, error) {
	kind, id, _ := strings.Cut(scope, ":")
	switch {
	case scope == "" || scope == ScopeCity:
		return resolved{Scope: Scope{Kind: ScopeCity, Name: "全市"}}, nil
	case kind == ScopeSubCenter:
		sc, ok := c.SubCenter(id)
		if !ok {
			known := make([]string, 0, len(c.SubCenters))
			for _, s := range c.SubCenters {
				known = append(known, s.ID)
			}
			return resolved{}, &ScopeError{Scope: scope, Problem: fmt.Sprintf("no sub-center is named %q", id), Known: known}
		}
		r := resolved{Scope: Scope{Kind: ScopeSubCenter, ID: id, Name: orID(sc.Name, id)},
			rooms: map[string]bool{}, servers: map[string]bool{}, subs: map[string]bool{id: true}}
		for _, room := range c.RoomsOf(id) {
			r.addRoom(c, &room)
		}
		return r, nil
	case kind == ScopeRoom:
		room, ok := c.Room(id)
		if !ok {
			known := make([]string, 0, len(c.Rooms))
			for _, r := range c.Rooms {
				known = append(known, r.ID)
			}
			return resolved{}, &ScopeError{Scope: scope, Problem: fmt.Sprintf("no room is named %q", id), Known: known}
		}
		r := resolved{Scope: Scope{Kind: ScopeRoom, ID: id, Name: orID(room.Name, id)},
			rooms: map[string]bool{}, servers: map[string]bool{}, subs: map[string]bool{room.SubCenter: true}}
		r.addRoom(c, room)
		return r, nil
	}
	return resolved{}, &ScopeError{Scope: scope, Problem: "not a scope: city, sub-center:<id> or room:<id>"}
}

func (r *resolved) addRoom(c *config.Config, room *config.Room) {
	r.rooms[room.ID] = true
	for _, s := range room.Servers {
		r.servers[s] = true
	}
}

func (r *resolved) hasRoom(id string) bool   { return r.rooms == nil || r.rooms[id] }
func (r *resolved) hasServer(id string) bool { return r.servers == nil || r.servers[id] }

func orID(name, id string) string {
	if name == "" {
		return id
	}
	return name
}
