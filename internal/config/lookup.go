package config

// Lookups over the configuration. They scan the lists, which hold dozens of
// entries, so they do not need an index that could go stale when the
// configuration is changed in code. Pointers returned point into the Config.

// Room returns the room with the given id.
func (c *Config) Room(id string) (*Room, bool) {
	for i := range c.Rooms {
		if c.Rooms[i].ID == id {
			return &c.Rooms[i], true
		}
	}
	return nil, false
}

// Server returns the server with the given id.
func (c *Config) Server(id string) (*Server, bool) {
	for i := range c.Servers {
		if c.Servers[i].ID == id {
			return &c.Servers[i], true
		}
	}
	return nil, false
}

// SubCenter returns the sub-center (or center) with the given id.
func (c *Config) SubCenter(id string) (*SubCenter, bool) {
	for i := range c.SubCenters {
		if c.SubCenters[i].ID == id {
			return &c.SubCenters[i], true
		}
	}
	return nil, false
}

// Center returns the city's trading center, the sub-center of kind "center".
func (c *Config) Center() (*SubCenter, bool) {
	for i := range c.SubCenters {
		if c.SubCenters[i].Kind == KindCenter {
			return &c.SubCenters[i], true
		}
	}
	return nil, false
}

// RoomsOf returns the rooms hosted by a sub-center, in configuration order.
func (c *Config) RoomsOf(subCenter string) []Room {
	var out []Room
	for _, r := range c.Rooms {
		if r.SubCenter == subCenter {
			out = append(out, r)
		}
	}
	return out
}

// ServersOf returns the servers a room depends on, in the room's order; ids
// that name no server (only possible in a configuration that does not
// validate) are skipped.
func (c *Config) ServersOf(room *Room) []Server {
	var out []Server
	for _, id := range room.Servers {
		if s, ok := c.Server(id); ok {
			out = append(out, *s)
		}
	}
	return out
}

// RoomsUsing returns the rooms that depend on a server, in configuration
// order: the rooms a fault of that server touches.
func (c *Config) RoomsUsing(server string) []Room {
	var out []Room
	for _, r := range c.Rooms {
		for _, id := range r.Servers {
			if id == server {
				out = append(out, r)
				break
			}
		}
	}
	return out
}
