package ws

import "time"

// tickTracker follows a stream of periodic messages (hall events) and turns
// the gaps between them into stutter episodes, sequence gaps and jitter. It is
// pure: every method takes the time of the event it is told about, so the
// math is tested without a clock or a socket.
//
// A gap longer than threshold (stutter_factor × period) is a stutter episode.
// An episode is flagged as soon as it is seen — at a window boundary while it
// still goes on, or when the late message finally arrives — and counted once,
// in the window where it was first seen. Its time is attributed to the windows
// it spans.
type tickTracker struct {
	period    time.Duration
	threshold time.Duration

	last      time.Time // last tick on this connection, or the join
	ticked    bool      // last is a tick, not the join
	accounted time.Time // stutter time attributed up to here
	inEpisode bool
	lastSeq   int64
	haveSeq   bool
	rejoined  bool // no sequence number seen yet on this connection

	// per-window results, reset by take
	episodes int
	stutter  time.Duration
	largest  time.Duration
	missed   int
	received int
	devSum   time.Duration
	devCount int
}

func newTickTracker(period time.Duration, factor float64) tickTracker {
	if factor <= 1 {
		factor = 2
	}
	return tickTracker{period: period, threshold: time.Duration(float64(period) * factor)}
}

// start begins tracking a new connection at t: silence from the join on
// counts. The sequence carries over: what the stream sent while the
// participant was away shows as missed events on the first one it gets.
func (k *tickTracker) start(t time.Time) {
	k.last, k.accounted, k.inEpisode, k.ticked = t, t, false, false
	k.rejoined = true
}

// stop ends tracking at t (the connection went away). An open episode ends
// there: the outage that follows is a dropout, not stutter.
func (k *tickTracker) stop(t time.Time) {
	if k.last.IsZero() {
		return
	}
	if !k.inEpisode && k.period > 0 && t.Sub(k.last) > k.threshold {
		k.episodes++ // silent until the end: the bidder saw nothing
		k.inEpisode = true
	}
	if k.inEpisode {
		k.attribute(t)
		k.inEpisode = false
	}
	k.last = time.Time{}
}

// tick records a periodic message that arrived at t, with its sequence number
// if it carried one.
func (k *tickTracker) tick(t time.Time, seq int64, hasSeq bool) {
	k.received++
	if hasSeq {
		if k.rejoined && k.haveSeq && seq < k.lastSeq {
			k.haveSeq = false // the server started its numbering again
		}
		k.rejoined = false
		if k.haveSeq && seq > k.lastSeq+1 {
			k.missed += int(seq - k.lastSeq - 1)
		}
		if !k.haveSeq || seq > k.lastSeq {
			k.lastSeq, k.haveSeq = seq, true
		}
	}
	if k.last.IsZero() || k.period <= 0 {
		k.last, k.ticked = t, true
		return
	}
	gap := t.Sub(k.last)
	if gap > k.largest {
		k.largest = gap
	}
	if k.ticked { // the first gap runs from the join, not from a tick
		dev := gap - k.period
		if dev < 0 {
			dev = -dev
		}
		k.devSum += dev
		k.devCount++
	}
	switch {
	case k.inEpisode:
		k.attribute(t)
		k.inEpisode = false
	case gap > k.threshold:
		k.episodes++
		k.attribute(t)
	}
	k.last, k.accounted, k.ticked = t, t, true
}

// windowEnd is called at a window boundary: an episode still going on is
// flagged now and its time so far attributed to the closing window.
func (k *tickTracker) windowEnd(t time.Time) {
	if k.last.IsZero() || k.period <= 0 {
		return
	}
	open := t.Sub(k.last)
	if open > k.largest {
		k.largest = open
	}
	if !k.inEpisode && open > k.threshold {
		k.inEpisode = true
		k.episodes++
	}
	if k.inEpisode {
		k.attribute(t)
	}
}

// attribute adds the stutter time from the last accounted instant up to t.
func (k *tickTracker) attribute(t time.Time) {
	from := k.accounted
	if from.Before(k.last) {
		from = k.last
	}
	if t.After(from) {
		k.stutter += t.Sub(from)
		k.accounted = t
	}
}

// tickWindow is what a tickTracker measured in one window.
type tickWindow struct {
	episodes int
	stutter  time.Duration
	largest  time.Duration
	missed   int
	received int
	jitter   time.Duration
}

// take returns the window's figures and starts a new window.
func (k *tickTracker) take() tickWindow {
	w := tickWindow{
		episodes: k.episodes,
		stutter:  k.stutter,
		largest:  k.largest,
		missed:   k.missed,
		received: k.received,
	}
	if k.devCount > 0 {
		w.jitter = k.devSum / time.Duration(k.devCount)
	}
	k.episodes, k.stutter, k.largest, k.missed, k.received = 0, 0, 0, 0, 0
	k.devSum, k.devCount = 0, 0
	return w
}
