package media

import "time"

// keyframeMinGap is the least time between two keyframes forced by PLI or
// FIR in one room, as an encoder rate-limits keyframe requests.
const keyframeMinGap = 500 * time.Millisecond

// keyGate decides when a requested keyframe (PLI, FIR) is sent: at the next
// frame, unless a forced keyframe went out less than minGap ago, then at the
// first frame after minGap. A frame that is a keyframe anyway answers every
// request pending. It is pure: the caller passes the time and holds the lock.
type keyGate struct {
	minGap  time.Duration
	last    time.Time // when the last forced keyframe was sent
	pending bool
}

// request records a keyframe request.
func (g *keyGate) request() { g.pending = true }

// next is asked for every frame about to be sent at now; natural says the
// frame is a keyframe anyway. It returns true when the sender must jump to
// a keyframe instead.
func (g *keyGate) next(now time.Time, natural bool) bool {
	switch {
	case !g.pending:
		return false
	case natural:
		g.pending = false
		return false
	case !g.last.IsZero() && now.Sub(g.last) < g.minGap:
		return false
	}
	g.pending, g.last = false, now
	return true
}
