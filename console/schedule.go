package console

import (
	"context"
	"slices"
	"sort"
	"time"
)

// ScheduleSession is an opening as the schedule page shows it: merged from
// what every probe agent says it will probe, with the probes that cover it.
type ScheduleSession struct {
	ID        string    `json:"id"`
	Room      string    `json:"room"`
	RoomName  string    `json:"room_name"`
	SubCenter string    `json:"sub_center"`
	Title     string    `json:"title"`
	OpensAt   time.Time `json:"opens_at"`
	EndsAt    time.Time `json:"ends_at"`
	Cancelled bool      `json:"cancelled,omitempty"`
	AdHoc     bool      `json:"ad_hoc,omitempty"`
	// Probes are the agents that will probe (or are probing) it.
	Probes []string `json:"probes"`
	// State is upcoming, live or done at the time asked.
	State string `json:"state"`
}

// scheduleEvery is how often the console re-reads the agents' schedules.
const scheduleEvery = 5 * time.Second

// schedule returns the openings the probe agents know of, soonest first,
// read from Redis at most every few seconds. On a read error the last one
// read is kept.
func (s *Server) schedule(ctx context.Context, now time.Time) []ScheduleSession {
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	if s.sched != nil && now.Sub(s.schedAt) < scheduleEvery && now.Sub(s.schedAt) >= 0 {
		return s.stated(now)
	}
	byProbe, err := s.bus.Schedules(ctx)
	if err != nil {
		s.logger.Debug("schedules", "err", err)
		return s.stated(now)
	}
	merged := map[string]*ScheduleSession{}
	for probe, list := range byProbe {
		for _, ss := range list {
			key := ss.Room + "\x00" + ss.ID
			m := merged[key]
			if m == nil {
				m = &ScheduleSession{ID: ss.ID, Room: ss.Room, Title: ss.Title, OpensAt: ss.OpensAt,
					EndsAt: ss.OpensAt.Add(time.Duration(ss.DurationMS) * time.Millisecond), Cancelled: ss.Cancelled, AdHoc: ss.AdHoc}
				if r, ok := s.city.Room(ss.Room); ok {
					m.RoomName, m.SubCenter = r.Name, r.SubCenter
				}
				merged[key] = m
			}
			if !ss.Cancelled && !slices.Contains(m.Probes, probe) {
				m.Probes = append(m.Probes, probe)
			}
		}
	}
	out := make([]ScheduleSession, 0, len(merged))
	for _, m := range merged {
		slices.Sort(m.Probes)
		if m.Probes == nil {
			m.Probes = []string{}
		}
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].OpensAt.Equal(out[j].OpensAt) {
			return out[i].OpensAt.Before(out[j].OpensAt)
		}
		return out[i].Room < out[j].Room
	})
	s.sched, s.schedAt = out, now
	return s.stated(now)
}

// stated is the kept schedule with each session's state at now; the
// caller holds schedMu.
func (s *Server) stated(now time.Time) []ScheduleSession {
	out := slices.Clone(s.sched)
	for i := range out {
		switch {
		case now.Before(out[i].OpensAt):
			out[i].State = "upcoming"
		case now.Before(out[i].EndsAt):
			out[i].State = "live"
		default:
			out[i].State = "done"
		}
	}
	return out
}
