package correlate

import (
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

// Linger is how long a room's trouble that began while its server was in
// trouble, and still holds, stays blamed on the server after the server's
// own trouble ended: the rooms' measures take a few seconds to show a
// recovery. Trouble that holds on longer is the room's own.
const Linger = 10 * time.Second

// stateRank orders sick servers for blame: down before saturated before
// strained.
func stateRank(s detect.ServerState) int {
	switch s {
	case detect.ServerDown:
		return 3
	case detect.ServerSaturated:
		return 2
	case detect.ServerStrained:
		return 1
	}
	return 0
}

// blame returns the server a room's trouble is put on, or "": of the room's
// servers with a problem of their own, the worst (down, saturated,
// strained; the room's order breaks ties). Blame lasts while the server's
// problem holds, and for trouble that began before it ended (the room's
// lingering symptoms, even once the server is healthy again), never for
// trouble that began after. A room that a location sees fine is left to the
// network rule — unless the server is down: then its rooms stay with it
// (inhibition).
func (c *run) blame(room string, rv *roomView) string {
	fine := len(rv.ok) > 0
	onset := rv.onset()
	// lingers: trouble that began before the server's ended, and ended
	// (or holds on) no longer than Linger after it, stays with it.
	end := c.ev.At
	if t := c.clearSince(rv); !t.IsZero() {
		end = t
	}
	lingers := func(ended time.Time) bool {
		return !onset.After(ended) && end.Sub(ended) <= Linger
	}
	best, bestRank := "", 0
	for _, id := range c.t.RoomServers(room) {
		sv, ok := c.ev.Servers[id]
		if !ok {
			continue
		}
		rank := stateRank(sv.State)
		switch {
		case sv.Holding():
		case sv.State.Sick() && lingers(sv.ClearSince):
		case !sv.State.Sick() && sv.Last != nil && !sv.Last.Until.IsZero() && !fine && lingers(sv.Last.Until):
			rank = 1 // lingering: the least of reasons
		default:
			continue
		}
		if fine && sv.State != detect.ServerDown {
			continue
		}
		if rank > bestRank {
			best, bestRank = id, rank
		}
	}
	return best
}

// serverRule: a server with a problem of its own (down or saturated) is a
// problem holding every room that depends on it; a strained one (a reading
// beyond its limit, not yet for long enough) is one only while it explains
// rooms in trouble. Rooms in trouble are explained by the server blame
// picks.
func (c *run) serverRule() {
	explains := map[string][]string{}
	for _, room := range c.order {
		rv := c.rooms[room]
		if len(rv.bad) == 0 {
			continue
		}
		if s := c.blame(room, rv); s != "" {
			explains[s] = append(explains[s], room)
		}
	}
	for _, id := range sortedKeys(c.ev.Servers) {
		sv := c.ev.Servers[id]
		own := sv.State == detect.ServerSaturated || sv.State == detect.ServerDown
		if !own && len(explains[id]) == 0 {
			continue
		}
		b := c.get(vocab.CauseServer, id)
		b.servers.add(id)
		b.rooms.add(c.t.ServerRooms(id)...)
		for i := range sv.Findings {
			b.finding(&sv.Findings[i])
		}
		b.evidence = append(b.evidence, sv.Evidence...)
		switch {
		case sv.State.Sick():
			b.symptom(sv.Since, sv.ClearSince)
		case sv.Last != nil:
			b.symptom(sv.Last.Since, sv.Last.Until) // healthy again: its rooms linger
		}
		for _, room := range explains[id] {
			c.addBad(b, room, true)
			c.explained[room] = true
		}
	}
}
