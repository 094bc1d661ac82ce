package detect

import (
	"fmt"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// Severity says how bad a finding is.
type Severity string

// The severities, least first.
const (
	SeverityDegraded Severity = "degraded"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: degraded 1, critical 2, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityDegraded:
		return 1
	case SeverityCritical:
		return 2
	}
	return 0
}

// Worse returns the worse of two severities.
func Worse(a, b Severity) Severity {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

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

// Verdict is what one detector concluded about a window of data.
type Verdict struct {
	Cond     bool
	Severity Severity
	Figures  Figures
	Text     string
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

// Latency judges the p95 of the round-trip times over the rule's window.
func Latency(aggs []*Agg, r config.LatencyRule) Verdict {
	var rtt []float64
	var worst float64
	for _, a := range within(aggs, r.Window) {
		rtt = append(rtt, a.RTT...)
		worst = max(worst, a.RTTMaxMS)
	}
	if len(rtt) == 0 {
		return Verdict{}
	}
	p95 := Percentile(rtt, 95)
	v := Verdict{Figures: Figures{RTTP95MS: p95, RTTMaxMS: worst, Limit: ms(r.Degraded)}}
	switch {
	case p95 > ms(r.Critical):
		v.Cond, v.Severity, v.Figures.Limit = true, SeverityCritical, ms(r.Critical)
	case p95 > ms(r.Degraded):
		v.Cond, v.Severity = true, SeverityDegraded
	}
	v.Text = fmt.Sprintf("RTT p95 %.0f ms over %s (limit %.0f ms), worst %.0f ms", p95, r.Window, v.Figures.Limit, worst)
	return v
}

// Stutter judges the share of time the participants spent stuttering over
// the rule's window: total stutter time over (participants × window). The
// denominator is the full window even while less data is in, so a series
// that just started needs as much stutter as a long one to fire.
func Stutter(aggs []*Agg, r config.StutterRule) Verdict {
	in := within(aggs, r.Window)
	if len(in) == 0 {
		return Verdict{}
	}
	var freeze float64
	var samples, episodes int
	for _, a := range in {
		freeze += a.FreezeMS
		samples += a.Samples
		episodes += a.FreezeCount
	}
	participants := float64(samples) / float64(len(in))
	if participants == 0 {
		return Verdict{}
	}
	pct := 100 * freeze / (participants * ms(r.Window))
	v := Verdict{Figures: Figures{StutterPct: pct, FreezeMS: freeze, Limit: r.Pct}}
	if pct > r.Pct {
		v.Cond, v.Severity = true, SeverityDegraded
	}
	v.Text = fmt.Sprintf("stutter %.1f %% of %s (limit %g %%): %d episodes, %.1f s", pct, r.Window, r.Pct, episodes, freeze/1000)
	return v
}

// Dropout judges the latest window: a participant lost its connection or was
// down. latched, when not nil, is a window with a dropout seen since the last
// judgement, so one between two evaluations is not missed even if the
// participants are back by now.
func Dropout(aggs []*Agg, latched *Agg) Verdict {
	if len(aggs) == 0 {
		return Verdict{}
	}
	a := aggs[len(aggs)-1]
	if a.Down == 0 && a.Dropouts == 0 {
		if latched == nil {
			return Verdict{}
		}
		a = latched
	}
	v := Verdict{Cond: true, Severity: SeverityCritical, Figures: Figures{Participants: a.Samples, Down: a.Down, Dropouts: a.Dropouts, OutageMS: a.OutageMS, Error: a.Error}}
	v.Text = fmt.Sprintf("%d of %d participants down, %d dropouts", a.Down, a.Samples, a.Dropouts)
	if a.Error != "" {
		v.Text += ": " + a.Error
	}
	return v
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
