package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Incidents are the incidents opened in the period in scope, each counted
// once (a merged record counts in the incident it was merged into).
type Incidents struct {
	Total int `json:"total"`
	// ByClass has one entry per SLA class, least severe first.
	ByClass []ClassFigures `json:"by_class"`
	// Met, Breached and Pending split them by the SLA deadline: resolved
	// within it, not (resolved late, or still open past it), and still
	// open before it. Compliance is Met / (Met + Breached).
	Met        int `json:"met"`
	Breached   int `json:"breached"`
	Pending    int `json:"pending"`
	Compliance Num `json:"sla_compliance"`
	// MTTAS is the mean time to acknowledge (s) over the acknowledged
	// ones; MTTRS the mean handling time (处置时长, s) over the resolved
	// ones. Unacked and Unresolved count the ones left out.
	MTTAS      Num `json:"mtta_s"`
	MTTRS      Num `json:"mttr_s"`
	Unacked    int `json:"unacknowledged"`
	Unresolved int `json:"unresolved"`
	// Breaches are the breached incidents and why.
	Breaches []Breach `json:"breaches"`
	// List is every incident counted, oldest first.
	List []Line `json:"list"`
	// Drills counts drill incidents (应急演练), kept out of the figures.
	Drills int `json:"drills"`
}

// ClassFigures are one SLA class's figures.
type ClassFigures struct {
	Class      vocab.Class `json:"class"`
	Name       string      `json:"name"`
	DeadlineS  float64     `json:"deadline_s"`
	Count      int         `json:"count"`
	Met        int         `json:"met"`
	Breached   int         `json:"breached"`
	Pending    int         `json:"pending"`
	Compliance Num         `json:"sla_compliance"`
	MTTAS      Num         `json:"mtta_s"`
	MTTRS      Num         `json:"mttr_s"`
}

// Breach is one incident that missed its deadline.
type Breach struct {
	ID       string      `json:"id"`
	Class    vocab.Class `json:"class"`
	Opened   time.Time   `json:"opened"`
	Deadline time.Time   `json:"deadline"`
	Resolved time.Time   `json:"resolved,omitzero"`
	Summary  string      `json:"summary"`
	// Reason is the timeline's breach entries (why it was late), as the
	// watchdog wrote them; ReasonCN says it in Chinese.
	Reason   string `json:"reason"`
	ReasonCN string `json:"reason_cn"`
	Result   string `json:"result,omitempty"`
}

// Line is one incident in the list.
type Line struct {
	ID        string         `json:"id"`
	Key       string         `json:"key"`
	Class     vocab.Class    `json:"class"`
	State     incident.State `json:"state"`
	Cause     string         `json:"cause"`
	Subject   string         `json:"subject"`
	Summary   string         `json:"summary"`
	Rooms     []string       `json:"rooms,omitempty"`
	Opened    time.Time      `json:"opened"`
	Acked     time.Time      `json:"acknowledged,omitzero"`
	Resolved  time.Time      `json:"resolved,omitzero"`
	HandlingS float64        `json:"handling_s"`
	Deadline  time.Time      `json:"deadline"`
	// SLA is met, breached or pending.
	SLA string `json:"sla"`
}

// The SLA verdicts of one incident.
const (
	SLAMet      = "met"
	SLABreached = "breached"
	SLAPending  = "pending"
)

// SLAChinese names a verdict.
func SLAChinese(v string) string {
	switch v {
	case SLAMet:
		return "按时排除"
	case SLABreached:
		return "超时"
	case SLAPending:
		return "处理中"
	}
	return v
}

// verdict says whether an incident met its deadline, as of now.
func verdict(inc *incident.Incident, now time.Time) string {
	resolved := !inc.ResolvedAt.IsZero()
	switch {
	case inc.Breached:
		return SLABreached
	case resolved && inc.ResolvedAt.After(inc.Deadline):
		return SLABreached
	case resolved:
		return SLAMet
	case !inc.Deadline.IsZero() && now.After(inc.Deadline):
		return SLABreached
	}
	return SLAPending
}

// meanAcc is a running mean of durations.
type meanAcc struct {
	sum time.Duration
	n   int
}

func (m *meanAcc) add(d time.Duration) { m.sum += d; m.n++ }
func (m meanAcc) seconds() Num {
	if m.n == 0 {
		return nanNum()
	}
	return Num(m.sum.Seconds() / float64(m.n))
}

// incidentFigures computes the incident figures of the counted incidents
// (oldest first); deadlines gives each class's SLA deadline.
func incidentFigures(incs []*incident.Incident, now time.Time, deadlines map[vocab.Class]time.Duration) Incidents {
	out := Incidents{Total: len(incs), Breaches: []Breach{}, List: make([]Line, 0, len(incs))}
	type classAcc struct {
		fig        ClassFigures
		mtta, mttr meanAcc
	}
	classes := make([]classAcc, len(vocab.Classes))
	for i, c := range vocab.Classes {
		classes[i].fig = ClassFigures{Class: c, Name: c.Chinese(), DeadlineS: deadlines[c].Seconds()}
	}
	var mtta, mttr meanAcc
	for _, inc := range incs {
		v := verdict(inc, now)
		ci := max(inc.Class.Rank(), 0)
		ca := &classes[ci]
		ca.fig.Count++
		switch v {
		case SLAMet:
			out.Met++
			ca.fig.Met++
		case SLABreached:
			out.Breached++
			ca.fig.Breached++
			out.Breaches = append(out.Breaches, breachOf(inc))
		default:
			out.Pending++
			ca.fig.Pending++
		}
		if !inc.AcknowledgedAt.IsZero() {
			d := inc.AcknowledgedAt.Sub(inc.OpenedAt)
			mtta.add(d)
			ca.mtta.add(d)
		} else {
			out.Unacked++
		}
		handling := inc.HandlingTime(now)
		if !inc.ResolvedAt.IsZero() {
			handling = inc.HandlingTime(inc.ResolvedAt)
			mttr.add(handling)
			ca.mttr.add(handling)
		} else {
			out.Unresolved++
		}
		out.List = append(out.List, Line{
			ID: inc.ID, Key: inc.Key, Class: inc.Class, State: inc.State,
			Cause: inc.Cause.Chinese(), Subject: inc.Subject, Summary: inc.Phenomenon.Summary,
			Rooms: inc.Place.Rooms, Opened: inc.OpenedAt, Acked: inc.AcknowledgedAt, Resolved: inc.ResolvedAt,
			HandlingS: handling.Seconds(), Deadline: inc.Deadline, SLA: v,
		})
	}
	out.Compliance = share(out.Met, out.Met+out.Breached)
	out.MTTAS, out.MTTRS = mtta.seconds(), mttr.seconds()
	for i := range classes {
		ca := &classes[i]
		ca.fig.Compliance = share(ca.fig.Met, ca.fig.Met+ca.fig.Breached)
		ca.fig.MTTAS, ca.fig.MTTRS = ca.mtta.seconds(), ca.mttr.seconds()
		out.ByClass = append(out.ByClass, ca.fig)
	}
	return out
}

// breachOf says why an incident breached: the timeline's breach entries.
func breachOf(inc *incident.Incident) Breach {
	var why, cn []string
	for _, e := range inc.Timeline {
		if e.Kind == "breached" && e.Text != "" {
			why = append(why, e.Text)
		}
	}
	if len(why) == 0 {
		why = append(why, "not resolved by its "+string(inc.Class)+" deadline")
	}
	why = slices.Compact(why)
	for _, w := range why {
		cn = append(cn, breachChinese(w, inc))
	}
	return Breach{
		ID: inc.ID, Class: inc.Class, Opened: inc.OpenedAt, Deadline: inc.Deadline, Resolved: inc.ResolvedAt,
		Summary: inc.Phenomenon.Summary, Reason: strings.Join(why, "; "), ReasonCN: strings.Join(slices.Compact(cn), "；"), Result: inc.Result,
	}
}

// breachChinese says a breach entry in Chinese: the watchdog writes "<class>
// deadline <time> passed unresolved" and "resolved <d> after the <class>
// deadline"; anything else is kept as it is.
func breachChinese(text string, inc *incident.Incident) string {
	deadline := inc.Deadline.Format("2006-01-02 15:04")
	switch {
	case strings.HasSuffix(text, "passed unresolved"), strings.HasPrefix(text, "not resolved by"):
		return fmt.Sprintf("%s处置时限（%s）已过仍未排除", inc.Class.Chinese(), deadline)
	case strings.HasPrefix(text, "resolved ") && strings.Contains(text, " after the "):
		d := strings.TrimPrefix(text, "resolved ")
		d = d[:strings.Index(d, " after the ")]
		return fmt.Sprintf("超过%s处置时限（%s）%s后排除", inc.Class.Chinese(), deadline, d)
	}
	return text
}

func share(n, of int) Num {
	if of == 0 {
		return nanNum()
	}
	return Num(float64(n) / float64(of))
}

// Recurring is a problem (cause key) that came back in the period.
type Recurring struct {
	Key     string      `json:"key"`
	Cause   string      `json:"cause"`
	Subject string      `json:"subject"`
	Count   int         `json:"count"`
	Worst   vocab.Class `json:"worst_class"`
	IDs     []string    `json:"ids"`
}

// RoomCount is a room with several incidents.
type RoomCount struct {
	Room  string   `json:"room"`
	Name  string   `json:"name"`
	Count int      `json:"count"`
	IDs   []string `json:"ids"`
}

// recurring finds the cause keys seen at least twice, most first.
func recurring(incs []*incident.Incident) []Recurring {
	by := map[string]*Recurring{}
	var keys []string
	for _, inc := range incs {
		r := by[inc.Key]
		if r == nil {
			r = &Recurring{Key: inc.Key, Cause: inc.Cause.Chinese(), Subject: inc.Subject, Worst: inc.Class}
			by[inc.Key] = r
			keys = append(keys, inc.Key)
		}
		r.Count++
		r.IDs = append(r.IDs, inc.ID)
		if inc.Class.Rank() > r.Worst.Rank() {
			r.Worst = inc.Class
		}
	}
	out := []Recurring{}
	for _, k := range keys {
		if by[k].Count >= 2 {
			out = append(out, *by[k])
		}
	}
	slices.SortStableFunc(out, func(a, b Recurring) int { return b.Count - a.Count })
	return out
}
