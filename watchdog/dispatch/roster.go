package dispatch

import (
	"fmt"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// Receiver is one level of one sub-center's roster (level 0 is the duty
// officer, told first).
type Receiver struct {
	SubCenter string `json:"sub_center"`
	Level     int    `json:"level"`
}

// Key names the receiver: "jd/0".
func (r Receiver) Key() string { return fmt.Sprintf("%s/%d", r.SubCenter, r.Level) }

// Roster answers who is on duty: the config's rosters, in its time zone.
type Roster struct {
	city *config.Config
	d    *config.Dispatch
	loc  *time.Location
}

// NewRoster reads the rosters of a city's dispatch section.
func NewRoster(city *config.Config) *Roster {
	return &Roster{city: city, d: &city.Dispatch, loc: city.Dispatch.Location()}
}

// Levels is how many levels a sub-center's roster has (0: no roster).
func (r *Roster) Levels(subCenter string) int {
	ro, ok := r.d.RosterOf(subCenter)
	if !ok {
		return 0
	}
	return len(ro.Levels)
}

// Level returns a roster level, or nil.
func (r *Roster) Level(rc Receiver) *config.Level {
	ro, ok := r.d.RosterOf(rc.SubCenter)
	if !ok || rc.Level < 0 || rc.Level >= len(ro.Levels) {
		return nil
	}
	return &ro.Levels[rc.Level]
}

// Name says who a receiver is, for people: "江都区分中心 · 值班员".
func (r *Roster) Name(rc Receiver) string {
	name := rc.SubCenter
	if sc, ok := r.city.SubCenter(rc.SubCenter); ok {
		name = sc.Name
	}
	if l := r.Level(rc); l != nil {
		name += " · " + l.Name
	}
	return name
}

// OnDuty returns the people on duty at a receiver at t, in roster order,
// each once.
func (r *Roster) OnDuty(rc Receiver, t time.Time) []*config.Person {
	l := r.Level(rc)
	if l == nil {
		return nil
	}
	local := t.In(r.loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, r.loc)
	since := local.Sub(midnight)
	day := int(local.Weekday())
	yesterday := (day + 6) % 7
	var out []*config.Person
	seen := map[string]bool{}
	for _, s := range l.Shifts {
		days, err := config.ParseDays(s.Days)
		if err != nil {
			continue
		}
		from, err1 := config.ParseClock(s.From, false)
		to, err2 := config.ParseClock(s.To, true)
		if err1 != nil || err2 != nil {
			continue
		}
		on := false
		switch {
		case from < to: // within one day
			on = days[day] && since >= from && since < to
		default: // over midnight: from today's From, or until today's To of a shift that began yesterday
			on = (days[day] && since >= from) || (days[yesterday] && since < to)
		}
		if !on {
			continue
		}
		for _, id := range s.People {
			if p, ok := r.d.Person(id); ok && !seen[id] {
				seen[id] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// Channels returns the channels a receiver is reached on at t: the level's
// own, then those of the people on duty, each once.
func (r *Roster) Channels(rc Receiver, t time.Time) []string {
	l := r.Level(rc)
	if l == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(names []string) {
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	add(l.Channels)
	for _, p := range r.OnDuty(rc, t) {
		add(p.Channels)
	}
	return out
}
