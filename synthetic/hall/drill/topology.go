package drill

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// Topology is what a script's ids are checked against: the rooms, servers
// and network paths of a hall, and the sub-centers of the city it stands
// for.
type Topology struct {
	// Rooms are the hall's room ids.
	Rooms []string
	// Servers maps each simulated server's id to the rooms using it.
	Servers map[string][]string
	// Paths are the locations the hall has network paths from.
	Paths []string
	// SubCenters are the city's sub-center ids; nil when not known, and
	// then places, network and uplink subjects are not checked.
	SubCenters []string
}

// Check reports every problem of the script, on its own and against top:
// unknown servers, rooms and paths, expectations naming what is not there,
// and drills that hold at the same time and fault the same thing (clearing
// one would clear the other's). The error joins a [*FieldError] per
// problem and matches [ErrInvalid].
func (s *Script) Check(top Topology) error {
	p := &problems{lines: s.lines}
	s.validate(p)
	if len(p.list) > 0 {
		return p.err()
	}
	for i, d := range s.Drills {
		path := indexPath("drills", i)
		for j, f := range d.Faults {
			checkFault(p, indexPath(joinPath(path, "faults"), j), f, top)
		}
		for j, e := range d.Expect {
			checkExpect(p, indexPath(joinPath(path, "expect"), j), e, top)
		}
	}
	if len(p.list) == 0 {
		s.checkOverlaps(p, top)
	}
	return p.err()
}

func checkFault(p *problems, path string, f Fault, top Topology) {
	switch {
	case f.Server != "":
		if _, ok := top.Servers[f.Server]; !ok {
			p.add(joinPath(path, "server"), "unknown server %q", f.Server)
		}
	case f.Room != "":
		if !slices.Contains(top.Rooms, f.Room) {
			p.add(joinPath(path, "room"), "unknown room %q", f.Room)
		}
	case f.Path != "":
		if !slices.Contains(top.Paths, f.Path) {
			p.add(joinPath(path, "path"), "no network path from %q (%s)", f.Path, pathsHint(top))
		}
	}
}

// pathsHint says which paths the hall has.
func pathsHint(top Topology) string {
	if len(top.Paths) == 0 {
		return "the hall has none"
	}
	return "the hall has paths from " + strings.Join(top.Paths, ", ")
}

func checkExpect(p *problems, path string, e Expect, top Topology) {
	at := func(key string) string { return joinPath(path, key) }
	subCenter := func(key, id string) {
		if top.SubCenters != nil && !slices.Contains(top.SubCenters, id) {
			p.add(key, "unknown sub-center %q", id)
		}
	}
	switch e.Cause {
	case CauseServer:
		if _, ok := top.Servers[e.Subject]; !ok {
			p.add(at("subject"), "unknown server %q", e.Subject)
		}
	case CauseRoom:
		if !slices.Contains(top.Rooms, e.Subject) {
			p.add(at("subject"), "unknown room %q", e.Subject)
		}
	case CauseNetwork:
		switch {
		case top.SubCenters != nil:
			subCenter(at("subject"), e.Subject)
		case !slices.Contains(top.Paths, e.Subject):
			p.add(at("subject"), "no network path from %q (%s)", e.Subject, pathsHint(top))
		}
	case CauseUplink:
		subCenter(at("subject"), e.Subject)
	}
	for k, r := range e.Rooms {
		if !slices.Contains(top.Rooms, r) {
			p.add(indexPath(at("rooms"), k), "unknown room %q", r)
		}
	}
	for k, sc := range e.Place {
		subCenter(indexPath(at("place"), k), sc)
	}
}

// touches lists what a drill's faults act on, "room \"yz-hall-1\"", with
// the index of the fault, reporting what one drill faults twice.
func touches(p *problems, path string, d Drill, top Topology) map[string]int {
	out := map[string]int{}
	add := func(j int, what string) {
		if first, dup := out[what]; dup && first != j {
			p.add(indexPath(joinPath(path, "faults"), j), "%s is faulted twice in this drill (also faults[%d])", what, first)
			return
		}
		out[what] = j
	}
	for j, f := range d.Faults {
		switch {
		case f.Server != "":
			add(j, `server "`+f.Server+`"`)
			if f.RoomsFault != nil {
				for _, r := range top.Servers[f.Server] {
					add(j, `room "`+r+`"`)
				}
			}
		case f.Room != "":
			add(j, `room "`+f.Room+`"`)
		case f.Path != "":
			add(j, `path "`+f.Path+`"`)
		}
	}
	return out
}

// checkOverlaps reports drills that hold at the same time and fault the
// same thing.
func (s *Script) checkOverlaps(p *problems, top Topology) {
	spans := s.Timeline()
	touched := make([]map[string]int, len(s.Drills))
	for j, d := range s.Drills {
		touched[j] = touches(p, indexPath("drills", j), d, top)
		whats := slices.SortedFunc(maps.Keys(touched[j]), func(a, b string) int {
			return cmp.Or(cmp.Compare(touched[j][a], touched[j][b]), cmp.Compare(a, b))
		})
		for i := range j {
			if !(spans[i].Start < spans[j].End && spans[j].Start < spans[i].End) {
				continue
			}
			for _, what := range whats {
				if _, both := touched[i][what]; both {
					p.add(indexPath(joinPath(indexPath("drills", j), "faults"), touched[j][what]),
						"%s is faulted by drills[%d] too while both hold: overlapping drills must fault different things", what, i)
				}
			}
		}
	}
}
