package rtc

import "time"

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
