package console

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog"
	"github.com/bidwatch/bidwatch/watchdog/health"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Tile is a room on the overview.
type Tile struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Kind      string      `json:"kind"`
	SubCenter string      `json:"sub_center"`
	Session   *SessionRef `json:"session"`
	RoomNow
	// Incidents are the active incidents that concern the room.
	Incidents []string `json:"incidents,omitempty"`
}

// SessionRef is the opening a room holds now.
type SessionRef struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	OpensAt time.Time `json:"opens_at"`
	EndsAt  time.Time `json:"ends_at"`
}

// ProbeView is a probe agent as the overview shows it. A probe that stopped
// writing its heartbeat is "silent", never "running".
type ProbeView struct {
	ID       string    `json:"id"`
	Location string    `json:"location"`
	State    string    `json:"state"` // running, stopped, silent
	LastSeen time.Time `json:"last_seen"`
	Rooms    []string  `json:"rooms"`
	// Problem is what the watchdog says is wrong with the probe itself.
	Problem string `json:"problem,omitempty"`
	Spool   int64  `json:"spool_depth"`
}

// SubCenterView is a sub-center and its rooms' tiles.
type SubCenterView struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Rooms []Tile `json:"rooms"`
}

// CityRef is the city as the page names it.
type CityRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func cityRef(c config.City) CityRef { return CityRef{ID: c.ID, Name: c.Name} }

// Overview is the big screen.
type Overview struct {
	City       CityRef           `json:"city"`
	Now        time.Time         `json:"now"`
	SubCenters []SubCenterView   `json:"sub_centers"`
	Incidents  []incident.Brief  `json:"incidents"`
	Probes     []ProbeView       `json:"probes"`
	Sparks     map[string]Spark  `json:"sparks,omitempty"`
	Source     SourceStatus      `json:"source"`
	Schedule   []ScheduleSession `json:"-"`
}

// SourceStatus says whether what the console shows is current: false
// while it cannot read Redis.
type SourceStatus struct {
	OK bool `json:"ok"`
	// ReadAt is when the console last read the samples stream.
	ReadAt time.Time `json:"read_at,omitzero"`
}

// Tick is the live feed's message every second.
type Tick struct {
	Type   string          `json:"type"`
	T      int64           `json:"t"`
	Rooms  map[string]Tile `json:"rooms"`
	Probes []ProbeView     `json:"probes"`
	Source SourceStatus    `json:"source"`
	// Incidents are the active incidents' briefs, for the countdowns.
	Incidents []incident.Brief `json:"incidents"`
}

// incidents keeps the active incidents, from the store at start and the
// events stream after.
type incidents struct {
	mu     sync.Mutex
	active map[string]incident.Brief
}

func (a *incidents) set(list []incident.Incident) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.active = make(map[string]incident.Brief, len(list))
	for i := range list {
		if list[i].State.Active() {
			a.active[list[i].ID] = list[i].Brief()
		}
	}
}

func (a *incidents) apply(b incident.Brief) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.active == nil {
		a.active = map[string]incident.Brief{}
	}
	if b.State.Active() {
		a.active[b.ID] = b
	} else {
		delete(a.active, b.ID)
	}
}

// list returns the active incidents, the nearest deadline first.
func (a *incidents) list() []incident.Brief {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]incident.Brief, 0, len(a.active))
	for _, b := range a.active {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Deadline.Equal(out[j].Deadline) {
			return out[i].Deadline.Before(out[j].Deadline)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// tiles turns the live figures into tiles, each raised by the active
// incidents that concern its room: an incident's room is at least
// degraded, and down when the incident is critical.
func (s *Server) tiles(now time.Time, active []incident.Brief, sched []ScheduleSession) map[string]Tile {
	live := s.live.Now(now)
	byRoom := map[string][]incident.Brief{}
	for _, b := range active {
		rooms := b.Rooms
		if b.Cause == vocab.CauseServer || len(rooms) == 0 {
			rooms = append(slices.Clone(rooms), s.roomsOfServers(b.Servers)...)
		}
		for _, r := range rooms {
			byRoom[r] = append(byRoom[r], b)
		}
	}
	sessions := map[string]*SessionRef{}
	for i := range sched {
		ss := &sched[i]
		if ss.Cancelled || now.Before(ss.OpensAt.Add(-15*time.Minute)) || now.After(ss.EndsAt) {
			continue
		}
		if cur, ok := sessions[ss.Room]; !ok || ss.OpensAt.Before(cur.OpensAt) {
			sessions[ss.Room] = &SessionRef{ID: ss.ID, Title: ss.Title, OpensAt: ss.OpensAt, EndsAt: ss.EndsAt}
		}
	}
	out := make(map[string]Tile, len(s.city.Rooms))
	for _, r := range s.city.Rooms {
		t := Tile{ID: r.ID, Name: r.Name, Kind: string(r.Kind), SubCenter: r.SubCenter, RoomNow: live[r.ID], Session: sessions[r.ID]}
		seen := map[string]bool{}
		for _, b := range byRoom[r.ID] {
			if seen[b.ID] {
				continue
			}
			seen[b.ID] = true
			t.Incidents = append(t.Incidents, b.ID)
			st := StateDegraded
			if b.Severity == vocab.SeverityCritical {
				st = StateDown
			}
			t.State = worse(t.State, st)
		}
		out[r.ID] = t
	}
	return out
}

// roomsOfServers are the rooms served by any of the servers.
func (s *Server) roomsOfServers(servers []string) []string {
	var out []string
	for _, sv := range servers {
		for _, r := range s.city.RoomsUsing(sv) {
			out = append(out, r.ID)
		}
	}
	return out
}

// probes reads the probe agents' heartbeats and the watchdog's verdicts on
// them. A running probe whose heartbeat is older than the watchdog's
// silence threshold (or three of its own intervals) is silent.
func (s *Server) probes(ctx context.Context, now time.Time) ([]ProbeView, error) {
	sts, err := s.bus.ProbeStatuses(ctx)
	if err != nil {
		return nil, err
	}
	problems, _ := s.bus.Client().HGetAll(ctx, s.bus.Key(watchdog.KeyProbeHealth)).Result()
	silentAfter := s.city.Watchdog.Detect.ProbeSilentAfter
	out := make([]ProbeView, 0, len(sts))
	for _, st := range sts {
		p := ProbeView{ID: st.ID, Location: st.Location, State: st.State, LastSeen: st.LastSeen, Rooms: st.Rooms, Spool: st.SpoolDepth}
		after := max(silentAfter, 3*time.Duration(st.HeartbeatMS)*time.Millisecond)
		if after <= 0 {
			after = 15 * time.Second
		}
		if st.State != bus.ProbeStopped && now.Sub(st.LastSeen) > after {
			p.State = "silent"
		}
		if raw, ok := problems[st.ID]; ok {
			p.Problem = problemText(raw)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// problemText is the words of a probe problem the watchdog wrote (a JSON
// object with a summary, or plain text).
func problemText(raw string) string {
	var v struct {
		Summary string `json:"summary"`
		Text    string `json:"text"`
		Kind    string `json:"kind"`
		Cause   string `json:"cause"`
	}
	if json.Unmarshal([]byte(raw), &v) == nil {
		for _, s := range []string{v.Summary, v.Text, v.Kind, v.Cause} {
			if s != "" {
				return s
			}
		}
	}
	if len(raw) > 200 {
		raw = raw[:200]
	}
	return raw
}

// healthOf reads the latest health readings of the servers, by server.
func (s *Server) healthOf(ctx context.Context, servers []string) (map[string][]health.Reading, error) {
	all, err := s.bus.Client().HGetAll(ctx, s.bus.Key(watchdog.KeyHealth)).Result()
	if err != nil {
		return nil, err
	}
	out := map[string][]health.Reading{}
	for field, raw := range all {
		server, _, _ := strings.Cut(field, "/")
		if !slices.Contains(servers, server) {
			continue
		}
		var r health.Reading
		if json.Unmarshal([]byte(raw), &r) == nil {
			out[server] = append(out[server], r)
		}
	}
	for _, rs := range out {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Check < rs[j].Check })
	}
	return out, nil
}
