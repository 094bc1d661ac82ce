package rtc

import "time"

// freezeWindow is how many frame durations the W3C average is taken over.
const freezeWindow = 30

// freezeMinIncrease is the W3C's 150 ms: a gap must exceed the average frame
// duration by at least this much to be a freeze.
const freezeMinIncrease = 150 * time.Millisecond

// freezeDetector finds video freezes exactly as W3C webrtc-stats defines them
// (RTCInboundRtpStreamStats.freezeCount): a frame whose interframe delay is at
// least max(3 × avg, avg + 150 ms), where avg is the average frame duration
// over the last 30 frames, ends a freeze; its whole interframe delay is the
// freeze's duration. Like libwebrtc, the delay of every frame, frozen ones
// included, enters the average after the frame is judged.
//
// Beyond the definition, the detector can flag a freeze while it is still
// going on: Deadline says when the gap since the last frame will reach the
// threshold, and Check flags it then, so a watcher need not wait for the next
// frame (which, in a long freeze, may come much later or never).
type freezeDetector struct {
	durs   [freezeWindow]time.Duration
	n, i   int
	sum    time.Duration
	last   time.Time
	have   bool // a frame has been seen
	frozen bool // a freeze has been flagged and no frame has ended it yet
}

// threshold is the W3C freeze threshold; ok is false before the first frame
// duration is known.
func (d *freezeDetector) threshold() (time.Duration, bool) {
	if d.n == 0 {
		return 0, false
	}
	avg := d.sum / time.Duration(d.n)
	return max(3*avg, avg+freezeMinIncrease), true
}

// frame records a frame rendered at t. It returns the interframe delay, whether
// this frame ended a freeze, and whether that freeze is new (not flagged
// earlier by check).
func (d *freezeDetector) frame(t time.Time) (gap time.Duration, freeze, isNew bool) {
	if !d.have {
		d.have, d.last = true, t
		return 0, false, false
	}
	gap = t.Sub(d.last)
	if gap < 0 {
		gap = 0
	}
	if th, ok := d.threshold(); ok && gap >= th {
		freeze, isNew = true, !d.frozen
	}
	d.frozen = false
	d.sum += gap - d.durs[d.i]
	d.durs[d.i] = gap
	d.i = (d.i + 1) % freezeWindow
	if d.n < freezeWindow {
		d.n++
	}
	d.last = t
	return gap, freeze, isNew
}

// deadline is when the gap since the last frame reaches the threshold; ok is
// false when no threshold is known yet or the freeze is already flagged.
func (d *freezeDetector) deadline() (time.Time, bool) {
	th, ok := d.threshold()
	if !ok || !d.have || d.frozen {
		return time.Time{}, false
	}
	return d.last.Add(th), true
}

// check flags, at now, a freeze that is going on; it returns true only the
// first time for a given freeze.
func (d *freezeDetector) check(now time.Time) bool {
	dl, ok := d.deadline()
	if !ok || now.Before(dl) {
		return false
	}
	d.frozen = true
	return true
}

// reset forgets everything (a new connection).
func (d *freezeDetector) reset() { *d = freezeDetector{} }
