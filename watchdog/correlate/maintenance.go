package correlate

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
)

// mute marks a problem covered by an active maintenance window: recorded,
// not paged.
func mute(t *Topology, p *Problem, now time.Time) {
	for i := range t.maintain {
		m := &t.maintain[i]
		if m.Active(now) && covers(t, m, p) {
			p.Page, p.MutedBy = false, m.Name
			return
		}
	}
}

// covers reports whether a maintenance window covers everything a problem
// touches: a server is covered when it or its sub-center is listed; a room
// when it, its sub-center or one of its servers is; a network path or an
// uplink when its location or site is listed, or all its rooms are covered.
func covers(t *Topology, m *config.MaintenanceSpec, p *Problem) bool {
	server := func(id string) bool {
		return slices.Contains(m.Servers, id) || slices.Contains(m.SubCenters, t.serverSite[id])
	}
	room := func(id string) bool {
		site, ok := t.roomSite[id]
		if !ok {
			return false
		}
		return slices.Contains(m.Rooms, id) || slices.Contains(m.SubCenters, site) ||
			slices.ContainsFunc(t.roomServers[id], func(s string) bool { return slices.Contains(m.Servers, s) })
	}
	switch p.Cause {
	case vocab.CauseServer:
		return server(p.Subject)
	case vocab.CauseNetwork, vocab.CauseUplink:
		if slices.Contains(m.SubCenters, p.Subject) {
			return true
		}
	}
	rooms := p.Explains
	if p.Cause == vocab.CauseServer {
		rooms = p.Rooms
	}
	if len(rooms)+len(p.Servers) == 0 {
		return false
	}
	return !slices.ContainsFunc(rooms, func(r string) bool { return !room(r) }) &&
		!slices.ContainsFunc(p.Servers, func(s string) bool { return !server(s) })
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K { return slices.Sorted(maps.Keys(m)) }
