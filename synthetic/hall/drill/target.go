package drill

import (
	"context"
	"fmt"

	"github.com/bidwatch/bidwatch/synthetic/hall"
)

// Target is a hall a drill acts on: what the faults need, and its
// topology. [HallTarget] is a hall in this process, [AdminClient] one in
// another process, through its admin API.
type Target interface {
	// Topology is the hall's rooms, servers (with the rooms using each)
	// and network paths.
	Topology(ctx context.Context) (Topology, error)
	SetHealth(ctx context.Context, server string, h hall.Health) error
	ClearHealth(ctx context.Context, server string) error
	SetRoomFault(ctx context.Context, room string, f hall.Fault) error
	ClearRoomFault(ctx context.Context, room string) error
	SetPathFault(ctx context.Context, location string, f hall.PathFault) error
	ClearPathFault(ctx context.Context, location string) error
}

// HallTarget is a hall in this process as a drill's target.
type HallTarget struct {
	Hall *hall.Hall
}

var _ Target = HallTarget{}

// Topology implements Target.
func (t HallTarget) Topology(context.Context) (Topology, error) {
	top := Topology{Servers: map[string][]string{}}
	for _, r := range t.Hall.Rooms() {
		top.Rooms = append(top.Rooms, r.ID())
	}
	for _, s := range t.Hall.Servers() {
		top.Servers[s.ID()] = s.Rooms()
	}
	for _, p := range t.Hall.Paths() {
		top.Paths = append(top.Paths, p.Location())
	}
	return top, nil
}

// SetHealth implements Target.
func (t HallTarget) SetHealth(_ context.Context, server string, h hall.Health) error {
	s := t.Hall.Server(server)
	if s == nil {
		return fmt.Errorf("unknown server %q", server)
	}
	return s.SetHealth(h)
}

// ClearHealth implements Target.
func (t HallTarget) ClearHealth(_ context.Context, server string) error {
	s := t.Hall.Server(server)
	if s == nil {
		return fmt.Errorf("unknown server %q", server)
	}
	s.ClearHealth()
	return nil
}

// SetRoomFault implements Target.
func (t HallTarget) SetRoomFault(_ context.Context, room string, f hall.Fault) error {
	r := t.Hall.Room(room)
	if r == nil {
		return fmt.Errorf("unknown room %q", room)
	}
	return r.SetFault(f)
}

// ClearRoomFault implements Target.
func (t HallTarget) ClearRoomFault(_ context.Context, room string) error {
	r := t.Hall.Room(room)
	if r == nil {
		return fmt.Errorf("unknown room %q", room)
	}
	r.ClearFault()
	return nil
}

// SetPathFault implements Target.
func (t HallTarget) SetPathFault(_ context.Context, location string, f hall.PathFault) error {
	p := t.Hall.Path(location)
	if p == nil {
		return fmt.Errorf("unknown path %q", location)
	}
	return p.SetFault(f)
}

// ClearPathFault implements Target.
func (t HallTarget) ClearPathFault(_ context.Context, location string) error {
	p := t.Hall.Path(location)
	if p == nil {
		return fmt.Errorf("unknown path %q", location)
	}
	p.ClearFault()
	return nil
}
