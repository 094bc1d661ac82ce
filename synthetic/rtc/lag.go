package rtc

import (
	"time"

	"github.com/bidwatch/bidwatch/internal/framestamp"
)

// ntpEpochOffset is the seconds from the NTP epoch (1900) to the Unix epoch.
const ntpEpochOffset = 2208988800

// ntpTime converts a 64-bit NTP timestamp (RFC 3550 §4) to a time.
func ntpTime(ntp uint64) time.Time {
	secs := int64(ntp>>32) - ntpEpochOffset
	frac := int64(ntp & 0xffffffff)
	return time.Unix(secs, frac*1e9>>32)
}

// senderClock is what a stream's last RTCP sender report says of the
// sender's clock: RTP time rtp was wall-clock time wall (RFC 3550 §6.4.1).
// It lets a receiver date a frame of a stream whose packets carry no frame
// stamp, as the capture time of the frame's RTP timestamp: lag is then render
// time − capture time, a one-way delay that, like the stamp's, needs the
// sender's clock in step with ours.
type senderClock struct {
	have      bool   // a sender report has arrived
	ssrc      uint32 // the stream it is about
	wall      time.Time
	rtp       uint32
	clockRate float64
}

// captured is the sender's wall-clock time of RTP timestamp ts of stream
// ssrc; ok is false before a sender report about that stream arrived. RTP
// time wraps at 2^32: a difference is read the shorter way round.
func (c senderClock) captured(ssrc uint32, ts uint32) (time.Time, bool) {
	if !c.have || c.ssrc != ssrc || c.clockRate <= 0 {
		return time.Time{}, false
	}
	d := float64(int32(ts-c.rtp)) / c.clockRate
	return c.wall.Add(time.Duration(d * float64(time.Second))), true
}

// frameLag records the one-way delay of a frame rendered at at: from its
// frame stamp (the hall's own video, or our own coming back), else from the
// stream's last RTCP sender report (any other server); mu is held. Both need
// the sender's clock in step with ours.
func (m *meter) frameLag(st *stream, ts uint32, stamp stampOf, at time.Time) {
	if stamp.ok {
		src := stamp.st.Source
		if src != framestamp.SourceHall && src != m.ownSource {
			return // another publisher's frame: not ours to time
		}
		if src == m.ownSource {
			m.ownFrames++
		}
		if lag := at.Sub(stamp.st.Sent); lag >= 0 {
			m.w.lag = append(m.w.lag, lag)
		}
		return
	}
	if captured, ok := st.sr.captured(st.ssrc, ts); ok {
		if lag := at.Sub(captured); lag >= 0 {
			m.w.lag = append(m.w.lag, lag)
		}
	}
}

// onSenderReport takes an RTCP sender report of connection gen about the
// video (or audio) stream ssrc: NTP wall-clock time ntp is RTP time rtpTime.
func (m *meter) onSenderReport(gen uint64, video bool, ssrc uint32, ntp uint64, rtpTime uint32) {
	m.mu.Lock()
	defer m.unlock()
	md := m.current(gen)
	if md == nil {
		return
	}
	st := &md.audio
	if video {
		st = &md.video
	}
	st.sr = senderClock{have: true, ssrc: ssrc, wall: ntpTime(ntp), rtp: rtpTime, clockRate: st.jit.clockRate}
}
