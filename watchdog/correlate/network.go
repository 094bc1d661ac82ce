package correlate

import (
	"fmt"
	"strings"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// netRooms returns, per location, the rooms not yet explained that it sees
// in trouble while another location sees them fine, sorted: the signature
// of the location's own network path.
func (c *run) netRooms() map[string][]string {
	out := map[string][]string{}
	for _, room := range c.order {
		rv := c.rooms[room]
		if c.explained[room] || len(rv.ok) == 0 {
			continue
		}
		for _, l := range rv.bad {
			out[l] = append(out[l], room)
		}
	}
	return out
}

// uplinkRule: the rooms hosted at site X, slow from every location that
// sees them but X's own, which sees them fine, are one problem: X's own
// line (the hosting side), not a path per viewing location. A location
// whose path is itself in trouble (it sees rooms of other sites slow that
// others see fine) does not count as a witness; one witness with a healthy
// path is enough.
func (c *run) uplinkRule() {
	locs := c.locations()
	var net map[string][]string
	for _, site := range locs {
		if !c.t.IsSite(site) {
			continue
		}
		var cands []string
		witnesses := set{}
		for _, room := range c.t.siteRooms[site] {
			rv := c.rooms[room]
			if rv == nil || c.explained[room] {
				continue
			}
			own := rv.at(site)
			if own == nil || own.view != vocab.ViewOK {
				continue
			}
			bad, fineElsewhere := rv.bad, false
			for _, v := range rv.locs {
				if v.location != site && v.view == vocab.ViewOK {
					fineElsewhere = true
				}
			}
			if len(bad) == 0 || fineElsewhere {
				continue
			}
			cands = append(cands, room)
			witnesses.add(bad...)
		}
		if len(cands) == 0 {
			continue
		}
		if net == nil {
			net = c.netRooms()
		}
		healthy := false
		for _, l := range witnesses.sorted() {
			suspect := false
			for _, r := range net[l] {
				if c.t.Site(r) != site {
					suspect = true
					break
				}
			}
			if !suspect {
				healthy = true
				break
			}
		}
		if !healthy {
			continue
		}
		b := c.get(vocab.CauseUplink, site)
		for _, room := range cands {
			c.addBad(b, room, false)
		}
		b.evidence = append(b.evidence, fmt.Sprintf("rooms of %s (%s) slow from %s, fine from %s's own probes",
			site, strings.Join(cands, ", "), strings.Join(witnesses.sorted(), ", "), site))
		for _, room := range cands {
			c.explained[room] = true
		}
	}
}

// networkRule: the rooms location L sees in trouble while another location
// sees them fine are one problem, the network path to L (the viewers'
// side). Rooms L sees in trouble that no other location sees at all just
// now (their probes silent or stale) join it; with no room seen fine
// elsewhere, they make it on their own when they are hosted at two sites
// or more — one location's view of several sites failing together is its
// own path, not several rooms failing at once.
func (c *run) networkRule() {
	paths := map[string][]string{}
	net := c.netRooms()
	for _, loc := range c.locations() {
		clear := net[loc]
		var ambiguous []string
		sites := set{}
		for _, room := range c.order {
			rv := c.rooms[room]
			v := rv.at(loc)
			if c.explained[room] || v == nil || !v.view.Bad() {
				continue
			}
			if len(rv.bad) == 1 && len(rv.ok) == 0 {
				ambiguous = append(ambiguous, room)
				sites.add(c.t.Site(room))
			}
		}
		if len(clear) == 0 && len(sites) < 2 {
			continue
		}
		paths[loc] = append(clear, ambiguous...)
	}
	for _, loc := range sortedKeys(paths) {
		b := c.get(vocab.CauseNetwork, loc)
		n := 0
		for _, room := range paths[loc] {
			b.view(room, c.rooms[room].at(loc), true)
			n++
		}
		b.evidence = append(b.evidence, fmt.Sprintf("%d rooms slow from probes at %s only (%s)", n, loc, strings.Join(paths[loc], ", ")))
	}
	for _, rooms := range paths {
		for _, room := range rooms {
			c.explained[room] = true
		}
	}
}
