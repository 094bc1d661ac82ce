package rtc

import (
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// A browser's keyframe requests: when rendering is blocked (a gap NACKs did
// not fill, or no keyframe yet), a PLI once the NACKs have had pliAfterNACK
// to work (at once when NACK was not negotiated), then again every pliRepeat
// while still blocked and no keyframe has come, as libwebrtc repeats its
// keyframe requests.
const (
	pliAfterNACK = 150 * time.Millisecond
	pliRepeat    = 300 * time.Millisecond
)

// recovery is a connection's keyframe-request state; the meter keeps it
// under its mutex, the connection's recover goroutine acts on it.
type recovery struct {
	pli   bool          // the answer negotiated PLI on video
	after time.Duration // wait before the first PLI of a blocking
	ssrc  uint32        // the video stream
	last  time.Time     // when the last PLI was sent
	// kicked is the blocking the recover goroutine was woken for.
	kicked time.Time
	kick   chan struct{} // capacity 1
}

func newRecovery() recovery { return recovery{kick: make(chan struct{}, 1)} }

// blocked tells the recovery that rendering has been blocked since since,
// and wakes the recover goroutine the first time it hears of that blocking.
func (r *recovery) blocked(since time.Time) {
	if !r.pli || since.Equal(r.kicked) {
		return
	}
	r.kicked = since
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// pliDecision is the PLI policy, pure: rendering blocked since since (zero:
// not blocked), the last PLI sent at last; at now, send says whether to send
// a PLI, next when to ask again (zero: when rendering blocks anew).
func pliDecision(since, last, now time.Time, after time.Duration) (send bool, next time.Time) {
	if since.IsZero() {
		return false, time.Time{}
	}
	due := since.Add(after)
	if !last.Before(since) { // a PLI went out for this blocking
		due = last.Add(pliRepeat)
	}
	if now.Before(due) {
		return false, due
	}
	return true, now.Add(pliRepeat)
}

// setVideoFeedback records the RTCP feedback the answer negotiated for
// connection gen's video stream ssrc.
func (m *meter) setVideoFeedback(gen uint64, ssrc uint32, fb []webrtc.RTCPFeedback) {
	m.mu.Lock()
	defer m.unlock()
	md := m.current(gen)
	if md == nil {
		return
	}
	r := &md.recovery
	r.ssrc, r.pli, r.after = ssrc, false, 0
	for _, f := range fb {
		switch {
		case f.Type == "nack" && f.Parameter == "pli":
			r.pli = true
		case f.Type == "nack" && f.Parameter == "":
			r.after = pliAfterNACK
		}
	}
}

// pliStep applies the PLI policy to connection gen at now: send says a PLI
// for ssrc is due (and is taken as sent), next when to look again.
func (m *meter) pliStep(gen uint64, now time.Time) (ssrc uint32, send bool, next time.Time) {
	m.mu.Lock()
	defer m.unlock()
	md := m.current(gen)
	if md == nil || md.video.fb == nil || !md.recovery.pli {
		return 0, false, time.Time{}
	}
	r := &md.recovery
	since, _, _ := md.video.fb.blocked()
	send, next = pliDecision(since, r.last, now, r.after)
	if send {
		r.last = now
	}
	return r.ssrc, send, next
}

// recover sends the connection's keyframe requests until it closes: woken
// when rendering blocks, it asks the meter when a PLI is due and sends it.
func (c *conn) recover(kick <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-kick:
		case <-timer.C:
		}
		now := c.p.cfg.Now()
		ssrc, send, next := c.m.pliStep(c.gen, now)
		if send {
			_ = c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
		}
		if !next.IsZero() {
			timer.Reset(next.Sub(now))
		}
	}
}
