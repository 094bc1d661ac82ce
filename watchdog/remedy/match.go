package remedy

import (
	"slices"
	"strings"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Data is what a step's templates see of an incident: {{.ID}}, {{.Cause}},
// {{.Subject}}, {{.Server}}, {{.Room}}, {{.Rooms}}, {{.SubCenter}},
// {{.Class}}.
type Data struct {
	ID      string
	Cause   string
	Subject string
	// Server is the subject when the cause is a server, else the first of
	// the incident's servers whose role the runbook matches (the first of
	// them when it matches no role).
	Server string
	// Room is the first room; Rooms all of them ({{.Rooms}} prints them
	// joined by spaces, {{range .Rooms}} goes through them).
	Room  string
	Rooms Words
	// SubCenter is the first sub-center.
	SubCenter string
	Class     string
}

// Data has the fields of config.RunbookVars, which validation tries the
// templates on.
var _ = config.RunbookVars{ID: Data{}.ID, Cause: Data{}.Cause, Subject: Data{}.Subject, Server: Data{}.Server,
	Room: Data{}.Room, Rooms: Data{}.Rooms, SubCenter: Data{}.SubCenter, Class: Data{}.Class}

// Words are values a template prints joined by spaces.
type Words []string

func (w Words) String() string { return strings.Join(w, " ") }

// DataOf returns the template data of an incident for a runbook (nil: no
// runbook, Server is the first server).
func DataOf(inc *incident.Incident, city *config.Config, rb *config.Runbook) Data {
	d := Data{
		ID: inc.ID, Cause: string(inc.Cause), Subject: inc.Subject, Class: string(inc.Class),
		Rooms: Words(inc.Place.Rooms),
	}
	if len(inc.Place.Rooms) > 0 {
		d.Room = inc.Place.Rooms[0]
	}
	if len(inc.Place.SubCenters) > 0 {
		d.SubCenter = inc.Place.SubCenters[0]
	}
	servers := ServersOf(inc, city)
	if len(servers) > 0 {
		d.Server = servers[0]
	}
	if rb != nil && len(rb.Match.Roles) > 0 && inc.Cause != vocab.CauseServer {
		for _, s := range servers {
			if slices.Contains(rb.Match.Roles, role(city, s)) {
				d.Server = s
				break
			}
		}
	}
	return d
}

// ServersOf returns the servers an incident concerns: its subject for a
// server's fault, else the servers of its place, else (a room's own fault
// records none) the servers its rooms depend on.
func ServersOf(inc *incident.Incident, city *config.Config) []string {
	if inc.Cause == vocab.CauseServer {
		return []string{inc.Subject}
	}
	if len(inc.Place.Servers) > 0 {
		return inc.Place.Servers
	}
	var out []string
	for _, id := range inc.Place.Rooms {
		if r, ok := city.Room(id); ok {
			for _, s := range r.Servers {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func role(city *config.Config, server string) string {
	if s, ok := city.Server(server); ok {
		return string(s.Role)
	}
	return ""
}

// Match reports whether a runbook is for an incident: every list its match
// writes must match (a cause, a role of one of its servers, one of its
// rooms, sub-centers, its class). A match that writes nothing matches
// nothing (validation rejects it).
func Match(rb *config.Runbook, inc *incident.Incident, city *config.Config) bool {
	m := &rb.Match
	if len(m.Causes)+len(m.Roles)+len(m.Rooms)+len(m.SubCenters)+len(m.Classes) == 0 {
		return false
	}
	if len(m.Causes) > 0 && !slices.Contains(m.Causes, string(inc.Cause)) {
		return false
	}
	if len(m.Roles) > 0 && !slices.ContainsFunc(ServersOf(inc, city), func(s string) bool { return slices.Contains(m.Roles, role(city, s)) }) {
		return false
	}
	if len(m.Rooms) > 0 && !anyIn(inc.Place.Rooms, m.Rooms) {
		return false
	}
	if len(m.SubCenters) > 0 && !anyIn(inc.Place.SubCenters, m.SubCenters) {
		return false
	}
	if len(m.Classes) > 0 && !slices.Contains(m.Classes, string(inc.Class)) {
		return false
	}
	return true
}

// Select returns the first runbook enabled in the config that matches the
// incident. A suspended runbook is still selected: the guardrails refuse it
// and the refusal is recorded.
func Select(runbooks []config.Runbook, inc *incident.Incident, city *config.Config) (*config.Runbook, bool) {
	for i := range runbooks {
		if runbooks[i].On() && Match(&runbooks[i], inc, city) {
			return &runbooks[i], true
		}
	}
	return nil, false
}

// anyIn reports whether some x is in set.
func anyIn(xs, set []string) bool {
	return slices.ContainsFunc(xs, func(x string) bool { return slices.Contains(set, x) })
}
