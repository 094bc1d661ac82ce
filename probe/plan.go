package probe

import (
	"sort"
	"time"
)

// Plan defaults.
const (
	DefaultLead           = 10 * time.Minute
	DefaultTail           = 10 * time.Minute
	DefaultPatrolInterval = 15 * time.Minute
	DefaultPatrolDuration = 60 * time.Second
)

// Kind says why a room is being probed.
type Kind string

// The kinds of probing.
const (
	KindSession Kind = "session" // a scheduled bid opening
	KindAdHoc   Kind = "adhoc"   // "probe this room now"
	KindPatrol  Kind = "patrol"  // routine inspection between sessions (日常巡检)
)

// Policy is what the plan needs besides the sessions.
type Policy struct {
	// Lead is how long before a session opens probing starts; Tail how long
	// after its expected end it goes on.
	Lead, Tail time.Duration
	// PatrolInterval is how often each room is patrolled (0: never) and
	// PatrolDuration for how long. Rooms are staggered evenly across the
	// interval in the order of PatrolRooms; windows are aligned to the Unix
	// epoch, so agents at different locations patrol a room at the same time
	// and their Samples can be compared.
	PatrolInterval, PatrolDuration time.Duration
	PatrolRooms                    []string
}

// Assignment is one probing that should be running: participants in Room
// from Start to End.
type Assignment struct {
	// Key identifies the assignment across plans: the same key in the next
	// plan keeps the same participants running.
	Key  string
	Kind Kind
	Room string
	// Session is the value of the Samples' session field: the session id,
	// "adhoc:<command id>", or "" for patrol.
	Session string
	Start   time.Time
	End     time.Time
}

// window returns when a session's probing runs.
func (s Session) window(p Policy) (start, end time.Time) {
	if s.AdHoc {
		return s.OpensAt, s.OpensAt.Add(s.ExpectedDuration)
	}
	return s.OpensAt.Add(-p.Lead), s.OpensAt.Add(s.ExpectedDuration + p.Tail)
}

// assignment returns the session's assignment.
func (s Session) assignment(p Policy) Assignment {
	start, end := s.window(p)
	a := Assignment{Key: "session:" + s.ID + "@" + s.Room, Kind: KindSession, Room: s.Room, Session: s.ID, Start: start, End: end}
	if s.AdHoc {
		a.Key, a.Kind = s.ID+"@"+s.Room, KindAdHoc // s.ID is "adhoc:<command id>"
	}
	return a
}

// Desired returns what should be probed at now, sorted by key: every session
// (or ad-hoc request) whose window holds now, and a patrol of every room in
// its patrol window that has no session being probed. Cancelled sessions are
// not probed. It is a pure function of its arguments.
func Desired(now time.Time, sessions []Session, p Policy) []Assignment {
	var out []Assignment
	busy := map[string]bool{}
	for _, s := range sessions {
		if s.Cancelled {
			continue
		}
		a := s.assignment(p)
		if !now.Before(a.Start) && now.Before(a.End) {
			out = append(out, a)
			busy[a.Room] = true
		}
	}
	if p.PatrolInterval > 0 && p.PatrolDuration > 0 {
		for i, room := range p.PatrolRooms {
			if busy[room] {
				continue
			}
			start := patrolStart(now, i, len(p.PatrolRooms), p)
			end := start.Add(min(p.PatrolDuration, p.PatrolInterval))
			if now.Before(end) {
				out = append(out, Assignment{
					Key:   "patrol:" + room + "@" + start.UTC().Format(time.RFC3339),
					Kind:  KindPatrol,
					Room:  room,
					Start: start,
					End:   end,
				})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// NextChange returns the first instant after now at which Desired may
// change, or the zero time if it never will (no sessions ahead, no patrol).
func NextChange(now time.Time, sessions []Session, p Policy) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, s := range sessions {
		if s.Cancelled {
			continue
		}
		start, end := s.window(p)
		consider(start)
		consider(end)
	}
	if p.PatrolInterval > 0 && p.PatrolDuration > 0 {
		for i := range p.PatrolRooms {
			start := patrolStart(now, i, len(p.PatrolRooms), p)
			consider(start.Add(min(p.PatrolDuration, p.PatrolInterval)))
			consider(start.Add(p.PatrolInterval))
		}
	}
	return next
}

// patrolStart is the start of room i's latest patrol window at or before now.
func patrolStart(now time.Time, i, n int, p Policy) time.Time {
	iv := int64(p.PatrolInterval)
	offset := iv / int64(n) * int64(i)
	t := now.UnixNano() - offset
	k := t / iv
	if t < 0 && t%iv != 0 {
		k-- // floor for times before the epoch
	}
	return time.Unix(0, k*iv+offset).In(now.Location())
}

// diff compares running keys with the desired plan: what to start and what to
// stop.
func diff(running map[string]Assignment, desired []Assignment) (start []Assignment, stop []string) {
	want := make(map[string]bool, len(desired))
	for _, a := range desired {
		want[a.Key] = true
		if _, ok := running[a.Key]; !ok {
			start = append(start, a)
		}
	}
	for k := range running {
		if !want[k] {
			stop = append(stop, k)
		}
	}
	sort.Strings(stop)
	return start, stop
}
