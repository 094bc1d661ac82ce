package hall

import (
	"errors"
	"fmt"
	"regexp"
)

// ErrClosed is returned for what cannot be done once the hall is closed.
var ErrClosed = errors.New("hall closed")

// locationID is what a location id looks like: the shape of the ids in
// bidwatch's configuration (a sub-center's id), since that is what a path
// is named after.
var locationID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// AddPath starts the network path from location to the hall: a relay
// listening on listen ("127.0.0.1:0" picks a free port; "" means that) and
// forwarding to target, the host:port the hall itself is served on. The
// hall owns it: Hall.Close closes it, and the admin API shows and faults
// it under /admin/paths/{location}. It returns an error wrapping
// ErrBadPath for a bad or duplicate location, ErrClosed once the hall is
// closed, or the listen error.
func (h *Hall) AddPath(location, listen, target string) (*Path, error) {
	if !locationID.MatchString(location) {
		return nil, fmt.Errorf("%w: location %q: invalid id (want at most 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit)", ErrBadPath, location)
	}
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	h.pathMu.Lock()
	defer h.pathMu.Unlock()
	if h.pathsClosed {
		return nil, ErrClosed
	}
	if p := h.pathByLoc[location]; p != nil {
		return nil, fmt.Errorf("%w: duplicate location %q (its path is on %s already)", ErrBadPath, location, p.Addr())
	}
	p, err := newPath(location, listen, target)
	if err != nil {
		return nil, fmt.Errorf("path %s: %w", location, err)
	}
	h.paths = append(h.paths, p)
	h.pathByLoc[location] = p
	h.log.Info("network path started", "location", location, "addr", p.Addr(), "target", target)
	return p, nil
}

// Path returns the path from location, or nil if the hall has none.
func (h *Hall) Path(location string) *Path {
	h.pathMu.Lock()
	defer h.pathMu.Unlock()
	return h.pathByLoc[location]
}

// Paths returns the hall's paths in the order they were added.
func (h *Hall) Paths() []*Path {
	h.pathMu.Lock()
	defer h.pathMu.Unlock()
	return append([]*Path(nil), h.paths...)
}

// closePaths closes every path; none can be added afterwards.
func (h *Hall) closePaths() {
	h.pathMu.Lock()
	h.pathsClosed = true
	paths := h.paths
	h.pathMu.Unlock()
	for _, p := range paths {
		p.Close()
	}
}
