package drill

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/synthetic/hall"
)

// Limits of a script; beyond them a script is a typo, not a drill, and
// they keep its timeline far from overflowing.
const (
	minRepeat  = 100 * time.Millisecond
	maxDelay   = time.Minute // what a hall path takes
	maxTime    = 7 * 24 * time.Hour
	maxDrills  = 1000
	maxRepeats = 100_000 // in the whole script
)

// validate records every problem the script has on its own.
func (s *Script) validate(p *problems) {
	duration(p, "start", s.Start)
	switch {
	case len(s.Drills) == 0:
		p.add("drills", "required: a list of drills")
	case len(s.Drills) > maxDrills:
		p.add("drills", "%d drills: at most %d", len(s.Drills), maxDrills)
		return
	}
	repeats := 0
	for i, d := range s.Drills {
		s.validateDrill(p, i)
		if d.Repeat >= minRepeat && d.Hold > 0 && d.Hold <= maxTime {
			repeats += int(d.Hold / d.Repeat)
		}
	}
	if repeats > maxRepeats {
		p.add("drills", "the faults are repeated %d times in all: at most %d (make repeat longer)", repeats, maxRepeats)
	}
}

// duration records a problem with a time that is negative or too long.
func duration(p *problems, path string, d time.Duration) {
	switch {
	case d < 0:
		p.add(path, "must not be negative, got %s", d)
	case d > maxTime:
		p.add(path, "must be at most %s, got %s", maxTime, d)
	}
}

func (s *Script) validateDrill(p *problems, i int) {
	d := &s.Drills[i]
	path := indexPath("drills", i)
	at := func(key string) string { return joinPath(path, key) }
	if strings.TrimSpace(d.Name) == "" {
		p.add(at("name"), "required: what goes wrong, in words for the people drilled")
	}
	switch {
	case d.Hold == 0:
		p.add(at("hold"), "required: how long the faults hold, like 60s")
	case d.Hold < 0:
		p.add(at("hold"), "must be positive, got %s", d.Hold)
	default:
		duration(p, at("hold"), d.Hold)
	}
	duration(p, at("pause"), d.Pause)
	switch {
	case d.Repeat < 0 || d.Repeat > maxTime:
		duration(p, at("repeat"), d.Repeat)
	case d.Repeat > 0 && d.Repeat < minRepeat:
		p.add(at("repeat"), "must be at least %s, got %s", minRepeat, d.Repeat)
	case d.Repeat > 0 && d.Hold > 0 && d.Repeat >= d.Hold:
		p.add(at("repeat"), "must be shorter than hold (%s), got %s", d.Hold, d.Repeat)
	}
	if d.After != nil {
		duration(p, at("after"), *d.After)
	}
	if len(d.Faults) == 0 {
		p.add(at("faults"), "required: at least one fault (server, room or path)")
	}
	for j, f := range d.Faults {
		validateFault(p, indexPath(at("faults"), j), f)
	}
	seen := map[string]int{}
	for j, e := range d.Expect {
		epath := indexPath(at("expect"), j)
		s.validateExpect(p, i, epath, e)
		e = d.withDefaults(e)
		if e.Cause == "" || e.Subject == "" {
			continue
		}
		if first, dup := seen[e.Key()]; dup {
			p.add(epath, "%s %q is expected twice (also expect[%d])", e.Cause, e.Subject, first)
		} else {
			seen[e.Key()] = j
		}
		if e.ResolveWithin > 0 && d.Pause >= 0 && d.Pause < e.ResolveWithin {
			p.add(at("pause"), "%s is shorter than expect[%d].resolve_within (%s): leave the incident time to resolve before the next drill", d.Pause, j, e.ResolveWithin)
		}
	}
}

// faultKeys are the JSON keys of the hall's faults, longest first so that
// a message about media_delay_ms is not taken for one about delay_ms.
var faultKeys = func() []string {
	var keys []string
	for _, v := range []any{&hall.Fault{}, &hall.Health{}} {
		k, _ := tagFields(reflect.ValueOf(v).Elem())
		keys = append(keys, k...)
	}
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	return keys
}()

func validateFault(p *problems, path string, f Fault) {
	at := func(key string) string { return joinPath(path, key) }
	var set []string
	for _, k := range []struct{ key, id string }{{"server", f.Server}, {"room", f.Room}, {"path", f.Path}} {
		if k.id != "" {
			set = append(set, k.key)
		}
	}
	if len(set) != 1 {
		p.add(path, "want one of server, room or path: what the fault acts on")
		return
	}
	switch {
	case f.Server != "":
		if f.Health == (hall.Health{}) && f.RoomsFault == nil {
			p.add(path, "sets nothing: give a health field (cpu_pct, mem_pct, db_conns_pct, disk_pct, down) or rooms_fault")
		}
		if f.Health.DurationMS != 0 {
			p.add(at("duration_ms"), "not used in a drill: the drill's hold says how long")
		}
		hallProblems(p, path, f.Health.Validate())
		if f.RoomsFault != nil {
			validateRoomFault(p, at("rooms_fault"), *f.RoomsFault)
		}
	case f.Room != "":
		validateRoomFault(p, path, f.RoomFault)
	case f.Path != "":
		if f.Delay < 0 || f.Delay > maxDelay {
			p.add(at("delay"), "must be within 0s and %s, got %s", maxDelay, f.Delay)
		}
		if f.Delay == 0 && !f.Cut {
			p.add(path, "sets nothing: give delay or cut: true")
		}
	}
}

func validateRoomFault(p *problems, path string, f hall.Fault) {
	if f == (hall.Fault{}) {
		p.add(path, "sets nothing: give a room fault field (latency_ms, drop, …)")
	}
	if f.DurationMS != 0 {
		p.add(joinPath(path, "duration_ms"), "not used in a drill: the drill's hold says how long")
		f.DurationMS = 0
	}
	hallProblems(p, path, f.Validate())
}

// hallProblems records what the hall's own validation found, one problem a
// line, each at the key it names.
func hallProblems(p *problems, path string, err error) {
	if err == nil {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		key, at := "", len(line)
		for _, k := range faultKeys {
			if i := strings.Index(line, k+": "); i >= 0 && i < at {
				key, at = k, i
			}
		}
		if key == "" {
			p.add(path, "%s", line)
			continue
		}
		p.add(joinPath(path, key), "%s", line[at+len(key)+2:])
	}
}

func (s *Script) validateExpect(p *problems, i int, path string, e Expect) {
	at := func(key string) string { return joinPath(path, key) }
	switch {
	case e.Cause == "":
		p.add(at("cause"), "required (want %s)", causeList())
	case !slices.Contains(causes(), e.Cause):
		p.add(at("cause"), "unknown cause %q (want %s)", e.Cause, causeList())
	}
	if e.Subject == "" {
		p.add(at("subject"), "required: the %s blamed", subjectWord(e.Cause))
	}
	for _, list := range []struct {
		key string
		ids []string
	}{{"rooms", e.Rooms}, {"place", e.Place}} {
		seen := map[string]int{}
		for k, id := range list.ids {
			ipath := indexPath(at(list.key), k)
			if id == "" {
				p.add(ipath, "empty id")
			} else if first, dup := seen[id]; dup {
				p.add(ipath, "duplicate %q (also %s[%d])", id, list.key, first)
			}
			seen[id] = k
		}
	}
	// Zero takes the drill's hold or pause; the hold is required, a
	// pause is not.
	if e.OpenWithin < 0 || e.OpenWithin > maxTime {
		duration(p, at("open_within"), e.OpenWithin)
	}
	d := s.Drills[i]
	switch {
	case e.ResolveWithin < 0 || e.ResolveWithin > maxTime:
		duration(p, at("resolve_within"), e.ResolveWithin)
	case d.withDefaults(e).ResolveWithin == 0 && !s.bad[joinPath(indexPath("drills", i), "pause")]:
		p.add(at("resolve_within"), "required: the drill has no pause to default it to")
	}
	if e.Relapse && e.Cause != "" && e.Subject != "" && !s.expectedBefore(i, e.Key()) {
		p.add(at("relapse"), "no earlier drill expects %s %q: a relapse reopens an earlier drill's incident", e.Cause, e.Subject)
	}
}

// expectedBefore reports whether a drill before the i-th expects key.
func (s *Script) expectedBefore(i int, key string) bool {
	for _, d := range s.Drills[:i] {
		for _, e := range d.Expect {
			if e.Key() == key {
				return true
			}
		}
	}
	return false
}

func causeList() string {
	var names []string
	for _, c := range causes() {
		names = append(names, string(c))
	}
	return oneOf(names...)
}

// subjectWord says what the subject of a cause is.
func subjectWord(c Cause) string {
	switch c {
	case CauseServer:
		return "server"
	case CauseRoom:
		return "room"
	case CauseNetwork:
		return "location (sub-center) whose network path"
	case CauseUplink:
		return "sub-center whose uplink"
	}
	return "server, room, location or sub-center"
}
