package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Validate checks a configuration — ids, names, kinds, references between
// rooms, servers and sub-centers, URLs, health checks and probe settings —
// and returns every problem found, joined, or nil. [Parse] and [Load] call
// it; call it yourself on a configuration built or changed in code.
func (c *Config) Validate() error {
	var errs problems
	c.validate(&errs)
	return errs.err()
}

func (c *Config) validate(errs *problems) {
	checkID(errs, "city.id", c.City.ID)
	checkName(errs, "city.name", c.City.Name)
	c.validateSubCenters(errs)
	c.validateServers(errs)
	c.validateRooms(errs)
	c.Probe.validate(errs)
	c.validateAgent(errs)
	c.Watchdog.validate(errs, c)
	c.Dispatch.validate(errs, c)
	c.Console.validate(errs)
	c.Remedy.validate(errs, c)
	c.Reports.validate(errs, c)
}

var (
	subCenterKinds = []string{string(KindCenter), string(KindSubCenter)}
	serverRoles    = []string{string(RoleWeb), string(RoleWSGateway), string(RoleMedia), string(RoleDB)}
	roomKinds      = []string{string(RoomOpeningHall), string(RoomCoordination)}
	videoCodecs    = []string{string(VideoVP8), string(VideoH264)}
)

func (c *Config) validateSubCenters(errs *problems) {
	ids := newIDSet("sub_centers")
	center := -1
	for i := range c.SubCenters {
		s := &c.SubCenters[i]
		path := indexPath("sub_centers", i)
		ids.check(errs, i, s.ID)
		checkName(errs, path+".name", s.Name)
		checkEnum(errs, path+".kind", "kind", string(s.Kind), subCenterKinds)
		if s.Kind == KindCenter {
			if center >= 0 {
				errs.add(path+".kind", "a city has one center, and %s (%s) is it", indexPath("sub_centers", center), quote(c.SubCenters[center].ID))
				continue
			}
			center = i
		}
	}
}

func (c *Config) validateServers(errs *problems) {
	ids := newIDSet("servers")
	for i := range c.Servers {
		s := &c.Servers[i]
		path := indexPath("servers", i)
		ids.check(errs, i, s.ID)
		checkName(errs, path+".name", s.Name)
		checkEnum(errs, path+".role", "role", string(s.Role), serverRoles)
		c.checkSubCenterRef(errs, path+".sub_center", s.SubCenter)
		for j := range s.Health {
			s.Health[j].validate(errs, indexPath(path+".health", j))
		}
	}
}

func (c *Config) validateRooms(errs *problems) {
	ids := newIDSet("rooms")
	for i := range c.Rooms {
		r := &c.Rooms[i]
		path := indexPath("rooms", i)
		ids.check(errs, i, r.ID)
		checkName(errs, path+".name", r.Name)
		checkEnum(errs, path+".kind", "kind", string(r.Kind), roomKinds)
		c.checkSubCenterRef(errs, path+".sub_center", r.SubCenter)
		if r.VideoCodec != "" {
			checkEnum(errs, path+".video_codec", "codec", string(r.VideoCodec), videoCodecs)
		}

		switch {
		case r.EventsURL != "":
			checkURL(errs, path+".events_url", r.EventsURL, "ws", "wss")
		case r.Kind == RoomOpeningHall:
			errs.add(path+".events_url", "required for an %s", RoomOpeningHall)
		case r.WHEPURL == "" && r.WHIPURL == "":
			errs.add(path, "nothing to probe: set events_url, whep_url or whip_url")
		}
		if r.WHEPURL != "" {
			checkURL(errs, path+".whep_url", r.WHEPURL, "http", "https")
		}
		if r.WHIPURL != "" {
			if r.Kind == RoomOpeningHall {
				errs.add(path+".whip_url", "not allowed for an %s (only a %s publishes)", RoomOpeningHall, RoomCoordination)
			} else {
				checkURL(errs, path+".whip_url", r.WHIPURL, "http", "https")
			}
		}

		first := make(map[string]int, len(r.Servers))
		for j, id := range r.Servers {
			p := indexPath(path+".servers", j)
			if k, dup := first[id]; dup {
				errs.add(p, "duplicate server %s (also %s)", quote(id), indexPath(path+".servers", k))
				continue
			}
			first[id] = j
			switch _, ok := c.Server(id); {
			case id == "":
				errs.add(p, "required: a server id")
			case !ok:
				errs.add(p, "unknown server %s", quote(id))
			}
		}
	}
}

func (c *Config) checkSubCenterRef(errs *problems, path, id string) {
	if id == "" {
		errs.add(path, "required: a sub-center id")
		return
	}
	if _, ok := c.SubCenter(id); !ok {
		errs.add(path, "unknown sub-center %s", quote(id))
	}
}

// idPattern is what an id looks like: ids end up in URLs, Redis keys and
// metric labels.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

func checkID(errs *problems, path, id string) {
	switch {
	case id == "":
		errs.add(path, "required")
	case !idPattern.MatchString(id):
		errs.add(path, "invalid id %s (want at most 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit)", quote(id))
	}
}

func checkName(errs *problems, path, name string) {
	if strings.TrimSpace(name) == "" {
		errs.add(path, "required")
	}
}

func checkEnum(errs *problems, path, what, value string, allowed []string) {
	switch {
	case value == "":
		errs.add(path, "required (want %s)", oneOf(allowed...))
	case !slices.Contains(allowed, value):
		errs.add(path, "unknown %s %s (want %s)", what, quote(value), oneOf(allowed...))
	}
}

// idSet checks the ids of one list: well formed and not repeated.
type idSet struct {
	list  string
	first map[string]int
}

func newIDSet(list string) *idSet { return &idSet{list: list, first: map[string]int{}} }

func (s *idSet) check(errs *problems, i int, id string) {
	path := indexPath(s.list, i) + ".id"
	checkID(errs, path, id)
	if id == "" {
		return
	}
	if j, dup := s.first[id]; dup {
		errs.add(path, "duplicate id %s (first at %s)", quote(id), indexPath(s.list, j))
		return
	}
	s.first[id] = i
}

func checkURL(errs *problems, path, raw string, schemes ...string) {
	if msg := urlProblem(raw, schemes...); msg != "" {
		errs.add(path, "%s", msg)
	}
}

// userinfo finds the credentials in a URL that url.Parse rejects, so the
// message about it does not repeat them.
var userinfo = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#]*@`)

// urlProblem says what is wrong with a URL that must have one of the
// schemes and a host, or "". A password in the URL is not repeated.
func urlProblem(raw string, schemes ...string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("invalid URL %s", quote(userinfo.ReplaceAllString(raw, "${1}xxxxx@")))
	}
	if !slices.Contains(schemes, u.Scheme) {
		want := make([]string, len(schemes))
		for i, s := range schemes {
			want[i] = s + "://"
		}
		return fmt.Sprintf("want %s, got %s", oneOf(want...), quote(u.Redacted()))
	}
	if u.Hostname() == "" {
		return fmt.Sprintf("no host in URL %s", quote(u.Redacted()))
	}
	return ""
}
