package ws

import (
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic"
)

// windowAcc accumulates one participant's measures over one window and turns
// them into a Sample. Windows are aligned to multiples of their length.
// Connection state (connected since, down since) carries across windows.
type windowAcc struct {
	length time.Duration
	start  time.Time // aligned
	from   time.Time // measured from: start, or later in the first window
	end    time.Time

	upSince   time.Time // connected since; zero while disconnected
	downSince time.Time // disconnected since, after having been up; zero otherwise
	everUp    bool

	connected   time.Duration
	outage      time.Duration
	connectTook time.Duration
	lastOutage  time.Duration
	rtt         []time.Duration
	lag         []time.Duration
	messages    int
	badMessages int
	dropouts    int
	reconnects  int
	err         string
}

func newWindowAcc(now time.Time, length time.Duration) *windowAcc {
	start := now.Truncate(length)
	return &windowAcc{length: length, start: start, from: now, end: start.Add(length)}
}

// overlap is the part of [from, to) inside the window.
func (w *windowAcc) overlap(from, to time.Time) time.Duration {
	if from.Before(w.start) {
		from = w.start
	}
	if to.After(w.end) {
		to = w.end
	}
	if !to.After(from) {
		return 0
	}
	return to.Sub(from)
}

// connect records a completed connection at now that took took. For a
// reconnection it returns the outage that just ended.
func (w *windowAcc) connect(now time.Time, took time.Duration) (outage time.Duration, reconnected bool) {
	w.upSince = now
	w.connectTook = took
	if !w.everUp {
		w.everUp = true
		return 0, false
	}
	if !w.downSince.IsZero() {
		outage = now.Sub(w.downSince)
		w.outage += w.overlap(w.downSince, now)
		w.downSince = time.Time{}
	}
	w.reconnects++
	w.lastOutage = outage
	return outage, true
}

// disconnect records the loss of the connection at at.
func (w *windowAcc) disconnect(at time.Time) {
	if w.upSince.IsZero() {
		return
	}
	w.connected += w.overlap(w.upSince, at)
	w.upSince = time.Time{}
	w.downSince = at
}

// close turns the window into a Sample (without identity or Seq).
func (w *windowAcc) close(tw tickWindow) sample.Sample {
	if !w.upSince.IsZero() {
		w.connected += w.overlap(w.upSince, w.end)
	}
	if !w.downSince.IsZero() {
		w.outage += w.overlap(w.downSince, w.end)
	}
	s := sample.Sample{
		WindowStart:  w.start,
		WindowMS:     synthetic.MS(w.end.Sub(w.from)),
		Connected:    !w.upSince.IsZero(),
		ConnectedMS:  synthetic.MS(w.connected),
		ConnectMS:    synthetic.MS(w.connectTook),
		Messages:     w.messages,
		Ticks:        tw.received,
		FreezeCount:  tw.episodes,
		FreezeMS:     synthetic.MS(tw.stutter),
		LargestGapMS: synthetic.MS(tw.largest),
		MissedSeq:    tw.missed,
		JitterMS:     synthetic.MS(tw.jitter),
		Dropouts:     w.dropouts,
		Reconnects:   w.reconnects,
		OutageMS:     synthetic.MS(w.outage),
		LastOutageMS: synthetic.MS(w.lastOutage),
		Error:        w.err,
	}
	if exp := tw.received + tw.missed; exp > 0 && tw.missed > 0 {
		s.LossPct = 100 * float64(tw.missed) / float64(exp)
	}
	synthetic.SetLatency(&s, w.rtt, w.lag)
	return s
}

// cut ends the window early at t (the participant is stopping), so the
// last Sample covers only what was measured.
func (w *windowAcc) cut(t time.Time) {
	if t.After(w.from) && t.Before(w.end) {
		w.end = t
	}
}

// next starts the following window, keeping the connection state.
func (w *windowAcc) next() {
	start := w.start.Add(w.length)
	*w = windowAcc{
		length:    w.length,
		start:     start,
		from:      start,
		end:       start.Add(w.length),
		upSince:   w.upSince,
		downSince: w.downSince,
		everUp:    w.everUp,
		rtt:       w.rtt[:0],
		lag:       w.lag[:0],
	}
}
