package correlate

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

// Correlator groups findings into problems. It keeps one piece of state:
// when each partial-view problem was first seen, for the settle time. It is
// not safe for concurrent use.
type Correlator struct {
	city    *config.Config
	settle  time.Duration
	pending map[string]time.Time
	// blamed remembers the server a room's trouble was put on, for as
	// long as the room stays in trouble: a server that recovers first does
	// not hand its rooms' lingering symptoms to new room incidents.
	blamed map[string]string
	// evidence is the current snapshot's evidence per server.
	evidence map[string][]string
}

// New returns a Correlator for the city's topology; the watchdog section
// gives the settle time and the maintenance windows.
func New(city *config.Config) *Correlator {
	return &Correlator{city: city, settle: city.Watchdog.Correlate.Settle, pending: map[string]time.Time{}, blamed: map[string]string{}}
}

// builder accumulates one problem.
type builder struct {
	p        Problem
	rooms    map[string]bool
	servers  map[string]bool
	probes   map[string]bool
	locs     map[string]bool
	findings map[string]detect.Finding
}

func newBuilder(cause Cause, subject string) *builder {
	return &builder{
		p:        Problem{Fingerprint: string(cause) + ":" + subject, Cause: cause, Subject: subject, Page: cause != CauseProbe},
		rooms:    map[string]bool{},
		servers:  map[string]bool{},
		probes:   map[string]bool{},
		locs:     map[string]bool{},
		findings: map[string]detect.Finding{},
	}
}

func (b *builder) add(fs ...detect.Finding) {
	for _, f := range fs {
		b.findings[f.ID()] = f
		if f.Room != "" {
			b.rooms[f.Room] = true
		}
		if f.Server != "" {
			b.servers[f.Server] = true
		}
		if f.Probe != "" {
			b.probes[f.Probe] = true
		}
		if f.Location != "" {
			b.locs[f.Location] = true
		}
	}
}

// Correlate returns the problems the snapshot shows, sorted by fingerprint.
func (c *Correlator) Correlate(snap detect.Snapshot) []Problem {
	now := snap.At
	problems := map[string]*builder{}
	get := func(cause Cause, subject string) *builder {
		b := problems[string(cause)+":"+subject]
		if b == nil {
			b = newBuilder(cause, subject)
			problems[b.p.Fingerprint] = b
		}
		return b
	}

	// Sample findings by room and probe, leaving out silent probes: what
	// they say is the probe's problem.
	byRoom := map[string]map[string][]detect.Finding{}
	for _, f := range snap.Findings {
		switch {
		case f.Kind == detect.KindProbeSilent:
			get(CauseProbe, f.Probe).add(f)
		case f.Kind.FromSamples() && !snap.Silent[f.Probe]:
			if byRoom[f.Room] == nil {
				byRoom[f.Room] = map[string][]detect.Finding{}
			}
			byRoom[f.Room][f.Probe] = append(byRoom[f.Room][f.Probe], f)
		case f.Kind == detect.KindServerDown || f.Kind == detect.KindSaturation:
			b := get(CauseServer, f.Server)
			b.add(f)
			for _, r := range c.city.RoomsUsing(f.Server) {
				b.rooms[r.ID] = true
			}
		}
	}
	observers := map[string][]detect.SeriesStatus{}
	for _, s := range snap.Series {
		if !snap.Silent[s.Probe] {
			observers[s.Room] = append(observers[s.Room], s)
		}
	}

	for _, room := range slices.Sorted(maps.Keys(byRoom)) {
		seen := byRoom[room]
		type tally struct{ firing, fine []string }
		locs := map[string]*tally{}
		anyFine := false
		for _, s := range observers[room] {
			t := locs[s.Location]
			if t == nil {
				t = &tally{}
				locs[s.Location] = t
			}
			switch {
			case s.Firing:
				t.firing = append(t.firing, s.Probe)
			case s.Fine():
				t.fine = append(t.fine, s.Probe)
				anyFine = true
			}
		}
		var degraded []string
		for _, loc := range slices.Sorted(maps.Keys(locs)) {
			t := locs[loc]
			switch {
			case len(t.firing) > 0 && len(t.fine) == 0:
				degraded = append(degraded, loc)
			case len(t.firing) > 0:
				// Its neighbours at the same location see the room fine:
				// the probe's own problem.
				for _, p := range t.firing {
					get(CauseProbe, p).add(seen[p]...)
				}
			}
		}
		if len(degraded) == 0 {
			continue
		}
		if !anyFine {
			srv := c.blame(room, snap.Servers)
			if srv == "" {
				srv = c.blamed[room]
			}
			if srv != "" {
				c.blamed[room] = srv
				b := get(CauseServer, srv)
				for _, fs := range seen {
					b.add(fs...)
				}
				for _, r := range c.city.RoomsUsing(srv) {
					b.rooms[r.ID] = true
				}
				b.servers[srv] = true
			} else {
				b := get(CauseRoom, room)
				for _, fs := range seen {
					b.add(fs...)
				}
			}
			continue
		}
		for _, loc := range degraded {
			b := get(CauseNetwork, loc)
			for _, p := range locs[loc].firing {
				b.add(seen[p]...)
			}
		}
	}

	for room := range c.blamed {
		if byRoom[room] == nil {
			delete(c.blamed, room)
		}
	}
	c.inhibit(problems, snap.Servers)
	c.evidence = map[string][]string{}
	for id, st := range snap.Servers {
		c.evidence[id] = st.Evidence
	}

	var out []Problem
	for _, fp := range slices.Sorted(maps.Keys(problems)) {
		b := problems[fp]
		if b.p.Cause == CauseNetwork || b.p.Cause == CauseProbe {
			first, ok := c.pending[fp]
			if !ok {
				first = now
			}
			c.pending[fp] = first
			if now.Sub(first) < c.settle {
				continue
			}
		}
		p := c.finish(b)
		c.mute(&p, now)
		out = append(out, p)
	}
	for fp := range c.pending {
		if problems[fp] == nil {
			delete(c.pending, fp)
		}
	}
	return out
}

// blame returns the server a room's trouble is put on: of the room's servers
// under suspicion, one that is down, else one that is saturated, else the
// first suspect, in the room's order; "" when all are healthy.
func (c *Correlator) blame(room string, servers map[string]detect.ServerStatus) string {
	r, ok := c.city.Room(room)
	if !ok {
		return ""
	}
	best, bestRank := "", 0
	for _, id := range r.Servers {
		st := servers[id]
		rank := 0
		switch {
		case st.Down:
			rank = 3
		case st.Saturated:
			rank = 2
		case st.Suspect:
			rank = 1
		}
		if rank > bestRank {
			best, bestRank = id, rank
		}
	}
	return best
}

// inhibit takes the rooms of a down server out of network problems: the
// server's problem holds them, and they do not page separately. A network
// problem left with no room is dropped.
func (c *Correlator) inhibit(problems map[string]*builder, servers map[string]detect.ServerStatus) {
	for fp, b := range problems {
		if b.p.Cause != CauseNetwork {
			continue
		}
		for room := range b.rooms {
			r, ok := c.city.Room(room)
			if !ok {
				continue
			}
			for _, id := range r.Servers {
				if !servers[id].Down {
					continue
				}
				delete(b.rooms, room)
				for k, f := range b.findings {
					if f.Room == room {
						delete(b.findings, k)
					}
				}
				if sb := problems[string(CauseServer)+":"+id]; sb != nil {
					sb.rooms[room] = true
				}
				break
			}
		}
		if len(b.rooms) == 0 {
			delete(problems, fp)
		}
	}
}

// finish fills a problem's lists, severity, onset and summary.
func (c *Correlator) finish(b *builder) Problem {
	p := b.p
	if p.Cause == CauseNetwork {
		b.locs[p.Subject] = true
	}
	p.Rooms = slices.Sorted(maps.Keys(b.rooms))
	p.Servers = slices.Sorted(maps.Keys(b.servers))
	p.Probes = slices.Sorted(maps.Keys(b.probes))
	p.Locations = slices.Sorted(maps.Keys(b.locs))
	subs := map[string]bool{}
	roles := map[string]bool{}
	kinds := map[string]bool{}
	for _, id := range p.Rooms {
		if r, ok := c.city.Room(id); ok {
			subs[r.SubCenter] = true
		}
	}
	for _, id := range p.Servers {
		if s, ok := c.city.Server(id); ok {
			subs[s.SubCenter] = true
			roles[string(s.Role)] = true
		}
	}
	if p.Cause == CauseNetwork {
		if _, ok := c.city.SubCenter(p.Subject); ok {
			subs[p.Subject] = true
		}
	}
	p.SubCenters = slices.Sorted(maps.Keys(subs))
	p.Roles = slices.Sorted(maps.Keys(roles))
	for _, id := range slices.Sorted(maps.Keys(b.findings)) {
		f := b.findings[id]
		p.Findings = append(p.Findings, f)
		kinds[string(f.Kind)] = true
		p.Severity = detect.Worse(p.Severity, f.Severity)
		if p.Since.IsZero() || f.Onset.Before(p.Since) {
			p.Since = f.Onset
		}
	}
	p.Kinds = slices.Sorted(maps.Keys(kinds))
	if p.Cause == CauseServer {
		p.Evidence = c.evidence[p.Subject]
	}
	if p.Severity == "" {
		p.Severity = detect.SeverityDegraded
	}
	p.Summary = summary(&p)
	return p
}

func summary(p *Problem) string {
	var what string
	switch p.Cause {
	case CauseServer:
		what = "server " + p.Subject
	case CauseRoom:
		what = "room " + p.Subject
	case CauseNetwork:
		what = "network path to " + p.Subject
	case CauseProbe:
		what = "probe " + p.Subject
	}
	kinds := strings.Join(p.Kinds, ", ")
	if kinds == "" {
		kinds = "suspect health"
	}
	s := fmt.Sprintf("%s: %s (%s)", what, kinds, p.Severity)
	if len(p.Rooms) > 0 {
		s += fmt.Sprintf("; rooms %s", strings.Join(p.Rooms, ", "))
	}
	return s
}

// mute marks a problem covered by an active maintenance window: recorded,
// not paged.
func (c *Correlator) mute(p *Problem, now time.Time) {
	for i := range c.city.Watchdog.Maintain {
		m := &c.city.Watchdog.Maintain[i]
		if m.Active(now) && c.covers(m, p) {
			p.Page, p.MutedBy = false, m.Name
			return
		}
	}
}

// covers reports whether a maintenance window covers everything a problem
// touches: a server is covered when it or its sub-center is listed; a room
// when it, its sub-center or one of its servers is; a network path when its
// location is listed as a sub-center or all its rooms are covered.
func (c *Correlator) covers(m *config.MaintenanceSpec, p *Problem) bool {
	server := func(id string) bool {
		if slices.Contains(m.Servers, id) {
			return true
		}
		s, ok := c.city.Server(id)
		return ok && slices.Contains(m.SubCenters, s.SubCenter)
	}
	room := func(id string) bool {
		r, ok := c.city.Room(id)
		if !ok {
			return false
		}
		return slices.Contains(m.Rooms, id) || slices.Contains(m.SubCenters, r.SubCenter) || slices.ContainsFunc(r.Servers, func(s string) bool { return slices.Contains(m.Servers, s) })
	}
	switch p.Cause {
	case CauseServer:
		return server(p.Subject)
	case CauseNetwork:
		if slices.Contains(m.SubCenters, p.Subject) {
			return true
		}
	}
	if len(p.Rooms)+len(p.Servers) == 0 {
		return false
	}
	return !slices.ContainsFunc(p.Rooms, func(r string) bool { return !room(r) }) &&
		!slices.ContainsFunc(p.Servers, func(s string) bool { return !server(s) })
}
