package correlate

import (
	"slices"

	"github.com/bidwatch/bidwatch/internal/config"
)

// Topology is what correlation knows of a city: which site (sub-center)
// hosts each room, the servers each room depends on, and the maintenance
// windows. Build it once with NewTopology; it is read-only after that.
type Topology struct {
	city        *config.Config
	roomSite    map[string]string
	roomServers map[string][]string
	serverRooms map[string][]string
	serverSite  map[string]string
	serverRole  map[string]string
	sites       map[string]bool
	siteRooms   map[string][]string
	maintain    []config.MaintenanceSpec
}

// NewTopology reads the city's sub-centers, servers, rooms and maintenance
// windows.
func NewTopology(city *config.Config) *Topology {
	t := &Topology{
		city:        city,
		roomSite:    map[string]string{},
		roomServers: map[string][]string{},
		serverRooms: map[string][]string{},
		serverSite:  map[string]string{},
		serverRole:  map[string]string{},
		sites:       map[string]bool{},
		siteRooms:   map[string][]string{},
		maintain:    city.Watchdog.Maintain,
	}
	for _, sc := range city.SubCenters {
		t.sites[sc.ID] = true
	}
	for _, s := range city.Servers {
		t.serverSite[s.ID] = s.SubCenter
		t.serverRole[s.ID] = string(s.Role)
	}
	for _, r := range city.Rooms {
		t.roomSite[r.ID] = r.SubCenter
		t.roomServers[r.ID] = slices.Clone(r.Servers)
		t.siteRooms[r.SubCenter] = append(t.siteRooms[r.SubCenter], r.ID)
		for _, s := range r.Servers {
			t.serverRooms[s] = append(t.serverRooms[s], r.ID)
		}
	}
	for s := range t.serverRooms {
		slices.Sort(t.serverRooms[s])
	}
	for s := range t.siteRooms {
		slices.Sort(t.siteRooms[s])
	}
	return t
}

// Site returns the sub-center hosting a room ("" for a room not in the
// topology).
func (t *Topology) Site(room string) string { return t.roomSite[room] }

// RoomServers returns the servers a room depends on, in the configured
// order.
func (t *Topology) RoomServers(room string) []string { return t.roomServers[room] }

// ServerRooms returns the rooms that depend on a server, sorted.
func (t *Topology) ServerRooms(server string) []string { return t.serverRooms[server] }

// IsSite reports whether id is one of the city's sub-centers.
func (t *Topology) IsSite(id string) bool { return t.sites[id] }
