package rtc

import "time"

// rtpJitter is the RFC 3550 (§6.4.1, A.8) interarrival jitter of one RTP
// stream: the mean deviation of the difference in packet spacing at the
// receiver from the spacing at the sender, smoothed with gain 1/16. Every
// packet counts, so the packets of one video frame, which share a timestamp
// and arrive spread out, add what a real receiver's jitter would.
type rtpJitter struct {
	clockRate   float64 // RTP timestamp units per second
	started     bool
	lastArrival time.Time
	lastTS      uint32
	j           float64 // seconds
}

func newRTPJitter(clockRate uint32) rtpJitter {
	if clockRate == 0 {
		clockRate = 90000
	}
	return rtpJitter{clockRate: float64(clockRate)}
}

// update takes one packet's arrival time and RTP timestamp. Timestamps wrap
// around at 2^32; a difference is read as the shorter way round.
func (j *rtpJitter) update(arrival time.Time, ts uint32) {
	if !j.started {
		j.started, j.lastArrival, j.lastTS = true, arrival, ts
		return
	}
	// D(i,j) = (Rj - Ri) - (Sj - Si), in seconds.
	d := arrival.Sub(j.lastArrival).Seconds() - float64(int32(ts-j.lastTS))/j.clockRate
	if d < 0 {
		d = -d
	}
	j.j += (d - j.j) / 16
	j.lastArrival, j.lastTS = arrival, ts
}

// value is the current jitter estimate.
func (j *rtpJitter) value() time.Duration {
	return time.Duration(j.j * float64(time.Second))
}
