package correlate

import (
	"maps"
	"slices"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

// Result is what correlation concludes: the problems, and how every room
// looks overall.
type Result struct {
	// Problems are sorted by key.
	Problems []Problem
	// Rooms holds each room seen lately: bad (degraded or down) when some
	// location sees it in trouble, ok when none does and some sees it fine,
	// unknown otherwise. A room missing is unknown.
	Rooms map[string]vocab.View
}

// Correlate returns the problems the evidence shows now. It is a pure
// function of the topology and the evidence: the same evidence gives the
// same problems, whatever came before.
//
// The rules run in order, each explaining rooms the earlier ones left:
// probe-local, server, uplink, network path, room; then silent probes and
// maintenance windows.
func Correlate(t *Topology, ev detect.Evidence) Result {
	rooms, local := probeLocal(&ev)
	c := &run{t: t, ev: &ev, rooms: rooms, problems: map[string]*builder{}, explained: map[string]bool{}}
	c.serverRule()
	c.uplinkRule()
	c.networkRule()
	c.roomRule()
	for k, b := range local {
		c.problems[vocab.CauseProbe.Key(k)] = b
	}
	c.silentRule()
	out := make([]Problem, 0, len(c.problems))
	for _, k := range slices.Sorted(maps.Keys(c.problems)) {
		p := c.problems[k].finish(t)
		switch p.Cause {
		case vocab.CauseNetwork, vocab.CauseUplink, vocab.CauseProbe:
			p.Partial = true
		}
		if p.Cause == vocab.CauseProbe {
			p.Page = false
		}
		mute(t, &p, ev.At)
		out = append(out, p)
	}
	views := make(map[string]vocab.View, len(rooms))
	for id, rv := range rooms {
		v := vocab.ViewUnknown
		for _, lv := range rv.locs {
			switch {
			case lv.view == vocab.ViewDown:
				v = vocab.ViewDown
			case lv.view == vocab.ViewDegraded && v != vocab.ViewDown:
				v = vocab.ViewDegraded
			case lv.view == vocab.ViewOK && v == vocab.ViewUnknown:
				v = vocab.ViewOK
			}
		}
		views[id] = v
	}
	return Result{Problems: out, Rooms: views}
}

// run is one correlation's working state.
type run struct {
	t        *Topology
	ev       *detect.Evidence
	rooms    map[string]*roomView
	problems map[string]*builder
	// explained holds the rooms in trouble an earlier rule explained.
	explained map[string]bool
}

func (c *run) get(cause vocab.Cause, subject string) *builder {
	k := cause.Key(subject)
	b := c.problems[k]
	if b == nil {
		b = newBuilder(cause, subject)
		c.problems[k] = b
	}
	return b
}

// sortedRooms returns the rooms with views, sorted, for a stable order.
func (c *run) sortedRooms() []string { return slices.Sorted(maps.Keys(c.rooms)) }

// onset is the earliest onset of a room's bad views.
func (r *roomView) onset() time.Time {
	var t time.Time
	for _, v := range r.locs {
		if v.view.Bad() && (t.IsZero() || v.onset.Before(t)) {
			t = v.onset
		}
	}
	return t
}

// addBad adds every bad view of a room to a problem.
func (c *run) addBad(b *builder, room string) {
	rv := c.rooms[room]
	for _, l := range rv.where(isBad) {
		b.view(room, rv.locs[l])
	}
}

// locations returns every location that has a view of some room, sorted.
func (c *run) locations() []string {
	locs := set{}
	for _, rv := range c.rooms {
		for l := range rv.locs {
			locs.add(l)
		}
	}
	return locs.sorted()
}
