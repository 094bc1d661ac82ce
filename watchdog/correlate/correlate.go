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
	rooms, local, locs := probeLocal(&ev, len(t.roomSite))
	c := &run{t: t, ev: &ev, rooms: rooms, locs: locs, order: slices.Sorted(maps.Keys(rooms)), problems: map[string]*builder{}, explained: map[string]bool{}}
	c.suspects()
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
	t     *Topology
	ev    *detect.Evidence
	rooms map[string]*roomView
	// order is the rooms with views, sorted, for a stable order.
	order    []string
	problems map[string]*builder
	// explained holds the rooms in trouble an earlier rule explained.
	explained map[string]bool
	locs      []string
	// suspect holds the locations whose own path looks in trouble: they
	// see some room in trouble that another location sees fine.
	suspect map[string]bool
}

// suspects finds the locations whose own path looks in trouble.
func (c *run) suspects() {
	c.suspect = map[string]bool{}
	for _, rv := range c.rooms {
		if len(rv.ok) == 0 {
			continue
		}
		for _, l := range rv.bad {
			c.suspect[l] = true
		}
	}
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

// onset is when the room's present trouble, as every location that sees
// it in trouble sees it, began: the latest onset of its bad views. (A room
// slow from gy for an hour because of gy's line, and from yz since a minute
// ago, is in trouble of its own since a minute ago.)
func (r *roomView) onset() time.Time {
	var t time.Time
	for _, v := range r.locs {
		if v.view.Bad() && v.onset.After(t) {
			t = v.onset
		}
	}
	return t
}

// clearSince is when the room's trouble stopped, or zero while it holds:
// the latest time a bad view stopped holding — leaving out views from
// locations whose own path looks in trouble when another location sees the
// room in trouble too.
func (c *run) clearSince(r *roomView) time.Time {
	bad := r.bad
	clean := slices.ContainsFunc(bad, func(l string) bool { return !c.suspect[l] })
	var t time.Time
	for _, l := range bad {
		if clean && c.suspect[l] {
			continue
		}
		cs := r.at(l).clearSince
		if cs.IsZero() {
			return time.Time{}
		}
		if cs.After(t) {
			t = cs
		}
	}
	return t
}

// addBad adds every bad view of a room to a problem. The times of views
// from locations whose own path looks in trouble do not count when the
// problem has times of its own (a server's health) or another location
// sees the room in trouble: what they see is not this problem's alone.
func (c *run) addBad(b *builder, room string, ownTimes bool) {
	rv := c.rooms[room]
	clean := ownTimes || slices.ContainsFunc(rv.bad, func(l string) bool { return !c.suspect[l] })
	for _, v := range rv.locs {
		if v.view.Bad() {
			b.view(room, v, !clean || !c.suspect[v.location])
		}
	}
}

// locations returns every location that has a view of some room, sorted.
func (c *run) locations() []string { return c.locs }
