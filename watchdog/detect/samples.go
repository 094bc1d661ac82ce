package detect

import (
	"fmt"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
)

// Figures are the numbers behind a finding, kept for the fault record's
// phenomenon (故障现象).
type Figures struct {
	RTTP95MS     float64 `json:"rtt_p95_ms,omitempty"`
	RTTMaxMS     float64 `json:"rtt_max_ms,omitempty"`
	StutterPct   float64 `json:"stutter_pct,omitempty"`
	FreezeMS     float64 `json:"freeze_ms,omitempty"`
	Participants int     `json:"participants,omitempty"`
	Down         int     `json:"participants_down,omitempty"`
	Dropouts     int     `json:"dropouts,omitempty"`
	OutageMS     float64 `json:"outage_ms,omitempty"`
	Failures     int     `json:"failures,omitempty"`
	Value        float64 `json:"value,omitempty"`
	Limit        float64 `json:"limit,omitempty"`
	Error        string  `json:"error,omitempty"`
}

// Verdict is what one detector concluded about a series' recent windows.
type Verdict struct {
	// Holds: the condition holds over the rule's window — what makes a
	// finding fire.
	Holds bool
	// Recent: the symptom shows in the most recent data (the last
	// detect.recent) — what keeps a firing finding from clearing, so it
	// clears when the symptoms end, not a whole window later.
	Recent bool
	// Fresh: a bad window ended within the last detect.recent. A finding
	// fires only on fresh trouble: a window still full of an ended fault's
	// slow samples does not fire it again once it has cleared.
	Fresh bool
	// Since is the start of the first bad window in the rule's window;
	// Until the end of the last one.
	Since, Until time.Time
	Severity     vocab.Severity
	Figures      Figures
	Text         string
}

// obs is the verdict as the hysteresis takes it: while firing, the recent
// data decides.
func (v Verdict) obs(firing bool) Obs {
	o := Obs{Holds: v.Holds && v.Fresh, Since: v.Since, Until: v.Until}
	if firing {
		o.Holds = v.Recent
	}
	return o
}

// fresh reports whether a bad window ended within recent of the latest
// data's end.
func fresh(until time.Time, aggs []*Agg, recent time.Duration) bool {
	return !until.IsZero() && len(aggs) > 0 && !until.Before(aggs[len(aggs)-1].End.Add(-recent))
}

// windowP95 is the p95 of one window's RTTs, without changing them.
func windowP95(rtt []float64) float64 {
	var buf [16]float64
	xs := buf[:0]
	if len(rtt) > len(buf) {
		xs = make([]float64, 0, len(rtt))
	}
	return Percentile(append(xs, rtt...), 95)
}

// within returns the Aggs whose window starts after the latest one's start
// minus w (the latest w of data). aggs are sorted by window.
func within(aggs []*Agg, w time.Duration) []*Agg {
	if len(aggs) == 0 {
		return nil
	}
	from := aggs[len(aggs)-1].Window.Add(-w)
	i := len(aggs)
	for i > 0 && aggs[i-1].Window.After(from) {
		i--
	}
	return aggs[i:]
}

// Latency judges the p95 of the round-trip times over the rule's window;
// the recent data shows it when the p95 over the last recent is above the
// degraded limit too.
func Latency(aggs []*Agg, r config.LatencyRule, recent time.Duration) Verdict {
	in := within(aggs, r.Window)
	var rtt []float64
	var worst float64
	var v Verdict
	limit := ms(r.Degraded)
	for _, a := range in {
		rtt = append(rtt, a.RTT...)
		worst = max(worst, a.RTTMaxMS)
		if windowP95(a.RTT) > limit {
			if v.Since.IsZero() {
				v.Since = a.Window
			}
			v.Until = a.End
		}
	}
	if len(rtt) == 0 {
		return Verdict{}
	}
	p95 := Percentile(rtt, 95)
	var last []float64
	for _, a := range within(aggs, recent) {
		last = append(last, a.RTT...)
	}
	v.Recent = len(last) > 0 && Percentile(last, 95) > limit
	v.Fresh = fresh(v.Until, aggs, recent)
	v.Figures = Figures{RTTP95MS: p95, RTTMaxMS: worst, Limit: limit}
	switch {
	case p95 > ms(r.Critical):
		v.Holds, v.Severity, v.Figures.Limit = true, vocab.SeverityCritical, ms(r.Critical)
	case p95 > limit:
		v.Holds, v.Severity = true, vocab.SeverityDegraded
	}
	v.Text = fmt.Sprintf("RTT p95 %.0f ms over %s (limit %.0f ms), worst %.0f ms", p95, r.Window, v.Figures.Limit, worst)
	return v
}

// Stutter judges the share of time the participants spent stuttering over
// the rule's window: total stutter time over (participants × window). The
// denominator is the full window even while less data is in, so a series
// that just started needs as much stutter as a long one to fire. The recent
// data shows it when the share over the last recent is above the limit.
func Stutter(aggs []*Agg, r config.StutterRule, recent time.Duration) Verdict {
	in := within(aggs, r.Window)
	if len(in) == 0 {
		return Verdict{}
	}
	var v Verdict
	share := func(aggs []*Agg, span time.Duration) (pct, freeze float64, episodes int) {
		var samples int
		for _, a := range aggs {
			freeze += a.FreezeMS
			samples += a.Samples
			episodes += a.FreezeCount
		}
		if len(aggs) == 0 || samples == 0 {
			return 0, freeze, episodes
		}
		participants := float64(samples) / float64(len(aggs))
		return 100 * freeze / (participants * ms(span)), freeze, episodes
	}
	pct, freeze, episodes := share(in, r.Window)
	if freeze == 0 {
		return Verdict{}
	}
	for _, a := range in {
		if a.FreezeMS > 0 {
			if v.Since.IsZero() {
				v.Since = a.Window
			}
			v.Until = a.End
		}
	}
	rp, _, _ := share(within(aggs, recent), recent)
	v.Recent = rp > r.Pct
	v.Fresh = fresh(v.Until, aggs, recent)
	v.Figures = Figures{StutterPct: pct, FreezeMS: freeze, Limit: r.Pct}
	if pct > r.Pct {
		v.Holds, v.Severity = true, vocab.SeverityDegraded
	}
	v.Text = fmt.Sprintf("stutter %.1f %% of %s (limit %g %%): %d episodes, %.1f s", pct, r.Window, r.Pct, episodes, freeze/1000)
	return v
}

// Dropout judges the latest window: a participant lost its connection or was
// down. latched, when not nil, is a window with a dropout seen since the last
// judgement, so one between two evaluations is not missed even if the
// participants are back by now. When it does not hold, Until is the end of
// the last window with a participant down.
func Dropout(aggs []*Agg, latched *Agg) Verdict {
	if len(aggs) == 0 {
		return Verdict{}
	}
	a := aggs[len(aggs)-1]
	if a.Down == 0 && a.Dropouts == 0 {
		if latched == nil {
			for i := len(aggs) - 1; i >= 0; i-- {
				if aggs[i].Down > 0 || aggs[i].Dropouts > 0 {
					return Verdict{Until: aggs[i].End}
				}
			}
			return Verdict{}
		}
		a = latched
	}
	v := Verdict{Holds: true, Recent: true, Fresh: true, Since: a.Window, Until: a.End, Severity: vocab.SeverityCritical,
		Figures: Figures{Participants: a.Samples, Down: a.Down, Dropouts: a.Dropouts, OutageMS: a.OutageMS, Error: a.Error}}
	v.Text = fmt.Sprintf("%d of %d participants down, %d dropouts", a.Down, a.Samples, a.Dropouts)
	if a.Error != "" {
		v.Text += ": " + a.Error
	}
	return v
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
