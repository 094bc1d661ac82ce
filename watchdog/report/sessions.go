package report

import (
	"time"

	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// Session outcomes.
const (
	OutcomeOK        = "ok"
	OutcomeDegraded  = "degraded"
	OutcomeDisrupted = "disrupted"
)

// OutcomeChinese names an outcome for people.
func OutcomeChinese(o string) string {
	switch o {
	case OutcomeOK:
		return "正常"
	case OutcomeDegraded:
		return "受影响"
	case OutcomeDisrupted:
		return "中断"
	}
	return o
}

// Sessions are the sessions probed (开标场次) in the period and their
// outcomes.
type Sessions struct {
	Total     int `json:"total"`
	OK        int `json:"ok"`
	Degraded  int `json:"degraded"`
	Disrupted int `json:"disrupted"`
	// WithIncident counts the sessions an incident touched: one open on
	// the session's room while it ran.
	WithIncident int `json:"with_incident"`
	// List holds every session, earliest first.
	List []Session `json:"list"`
}

// Session is one session's outcome as bidders saw it.
type Session struct {
	ID           string    `json:"id"`
	Room         string    `json:"room"`
	RoomName     string    `json:"room_name"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	Outcome      string    `json:"outcome"`
	ObservedMS   int64     `json:"observed_ms"`
	DownMS       int64     `json:"down_ms"`
	DegradedMS   int64     `json:"degraded_ms"`
	Availability Num       `json:"availability"`
	GoodShare    Num       `json:"good_share"`
	RTTMean      Num       `json:"rtt_mean_ms"`
	StutterMin   Num       `json:"stutter_min"`
	Dropouts     int64     `json:"dropouts"`
	// Incidents are the ids of the incidents that touched it.
	Incidents []string `json:"incidents,omitempty"`
}

// sessAcc sums a session's roll-ups over its Dims, without histograms, so
// a year's sessions fit in little memory.
type sessAcc struct {
	room                                   string
	observed, down, degraded, freeze, drop int64
	rttSum, rttN, first, last              int64
}

func (a *sessAcc) add(st *rollup.Stats) {
	a.observed += st.ObservedMS
	a.down += st.DownMS
	a.degraded += st.DegradedMS
	a.freeze += st.FreezeMS
	a.drop += st.Dropouts
	a.rttSum += st.RTTSumMS
	a.rttN += st.RTT.Count()
	if st.FirstMS != 0 && (a.first == 0 || st.FirstMS < a.first) {
		a.first = st.FirstMS
	}
	a.last = max(a.last, st.LastMS)
}

// judge gives a session's outcome under the thresholds.
func judge(observed, down, degraded int64, o Outcome) string {
	if observed <= 0 {
		return OutcomeOK
	}
	switch {
	case float64(down) > o.DisruptedDown*float64(observed):
		return OutcomeDisrupted
	case float64(down+degraded) > o.DegradedShare*float64(observed):
		return OutcomeDegraded
	}
	return OutcomeOK
}

func (a *sessAcc) session(id string, o Outcome, loc *time.Location) Session {
	s := Session{
		ID: id, Room: a.room,
		Start:      time.UnixMilli(a.first).In(loc),
		End:        time.UnixMilli(a.last).In(loc),
		Outcome:    judge(a.observed, a.down, a.degraded, o),
		ObservedMS: a.observed, DownMS: a.down, DegradedMS: a.degraded,
		Availability: nanNum(), GoodShare: nanNum(), RTTMean: nanNum(),
		StutterMin: Num(float64(a.freeze) / 60000),
		Dropouts:   a.drop,
	}
	if a.observed > 0 {
		s.Availability = Num(1 - float64(a.down)/float64(a.observed))
		s.GoodShare = Num(1 - float64(a.down+a.degraded)/float64(a.observed))
	}
	if a.rttN > 0 {
		s.RTTMean = Num(float64(a.rttSum) / float64(a.rttN))
	}
	return s
}
