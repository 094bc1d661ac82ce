package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

//go:embed report.html.tmpl
var htmlText string

// maxListed caps the rows of the long lists in the HTML (the JSON and CSV
// carry them all).
const maxListed = 100

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":       func(v any) string { return fmtPct(toNum(v)) },
	"ms":        func(v any) string { return fmtMS(toNum(v)) },
	"num":       func(v any) string { return fmtNum(toNum(v)) },
	"min1":      func(v any) string { return fmtFloat(toNum(v), 1) },
	"dur":       func(v any) string { return fmtDur(toNum(v)) },
	"minutes":   func(ms int64) string { return fmt.Sprintf("%.1f", float64(ms)/6e4) },
	"hours":     func(ms int64) string { return fmt.Sprintf("%.1f", float64(ms)/3.6e6) },
	"when":      func(t time.Time) string { return fmtWhen(t) },
	"day":       func(t time.Time) string { return fmtDay(t) },
	"class":     func(c vocab.Class) string { return c.Chinese() },
	"state":     func(s incident.State) string { return s.Chinese() },
	"outcome":   OutcomeChinese,
	"sla":       SLAChinese,
	"fig":       fmtFig,
	"delta":     fmtDelta,
	"first":     func(n int, xs any) any { return firstN(xs, n) },
	"more":      func(n, shown int) int { return n - min(n, shown) },
	"maxListed": func() int { return maxListed },
	"hasData":   func(f Figures) bool { return f.ObservedMS > 0 },
	"short":     func(s string) string { return short(s, 16) },
}).Parse(htmlText))

// view is what the template renders: the report and its charts.
type view struct {
	*Report
	StepName             string
	ChartAvail, ChartRTT template.HTML
	ChartClasses         template.HTML
	ChartPatrol          template.HTML
	HealthCharts         []healthChart
	Problems             []Session
	ProblemCount         int
	Generated            string
	// FooterText is printed at the foot of every page: the report and the
	// evidence chain's head.
	FooterText string
}

type healthChart struct {
	Label string
	Chart template.HTML
}

// WriteHTML writes the report as one HTML page (Chinese, inline SVG charts,
// no scripts) laid out to print on A4, each part on its own pages, with a
// signature block for the trading center.
func (r *Report) WriteHTML(w io.Writer) error {
	v := &view{Report: r, StepName: "日", Generated: fmtWhen(r.Generated), FooterText: r.Period.Label() + " · " + r.Scope.Name}
	if e := r.Evidence; e != nil && e.Error == "" && e.Head.N > 0 {
		v.FooterText += fmt.Sprintf(" · 证据链 第%d条 %s", e.Head.N, short(e.Head.Hash, 16))
	}
	if r.SeriesStep == "hour" {
		v.StepName = "小时"
	}
	labels := make([]string, len(r.Series))
	avail := make([]float64, len(r.Series))
	good := make([]float64, len(r.Series))
	p95 := make([]float64, len(r.Series))
	lo := 99.0
	for i, p := range r.Series {
		if r.SeriesStep == "hour" {
			labels[i] = p.At.Format("15时")
		} else {
			labels[i] = p.At.Format("01-02")
		}
		avail[i], good[i], p95[i] = float64(p.Availability)*100, float64(p.GoodShare)*100, float64(p.RTTP95)
		for _, x := range []float64{avail[i], good[i]} {
			if !math.IsNaN(x) {
				lo = math.Min(lo, math.Floor(x/5)*5)
			}
		}
	}
	v.ChartAvail = lineChart("可用率与良好率", "%", labels, []series{
		{name: "可用率", color: ColorAvailability, values: avail},
		{name: "良好率", color: ColorGood, values: good},
	}, lo, 100, false)
	v.ChartRTT = lineChart("延时 P95", "毫秒", labels, []series{{name: "延时 P95", color: ColorRTT, values: p95}}, 0, 100, true)
	cl := make([]string, len(r.Incidents.ByClass))
	cv := make([]float64, len(r.Incidents.ByClass))
	for i, c := range r.Incidents.ByClass {
		cl[i], cv[i] = c.Name, float64(c.Count)
	}
	v.ChartClasses = barChart("各类故障数", "起", cl, cv, classColors)
	v.HealthCharts = healthCharts(r, labels)
	names := make([]string, len(r.Patrol))
	counts := make([][]int, len(r.Patrol))
	for i, p := range r.Patrol {
		names[i], counts[i] = p.Name, p.PerPoint
	}
	perCell := 24
	if r.SeriesStep == "hour" {
		perCell = 1
	}
	v.ChartPatrol = heatMap("日常巡检", names, labels, counts, perCell)
	for _, s := range r.Sessions.List {
		if s.Outcome != OutcomeOK || len(s.Incidents) > 0 {
			v.ProblemCount++
			if len(v.Problems) < maxListed {
				v.Problems = append(v.Problems, s)
			}
		}
	}
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("render the report: %w", err)
	}
	return nil
}

// healthCharts draws one chart per reading, a line per server (its mean
// per hour or day), at most eight servers a chart.
func healthCharts(r *Report, labels []string) []healthChart {
	var names []string
	byName := map[string][]series{}
	for _, s := range r.Health {
		for _, m := range s.Metrics {
			if _, ok := byName[m.Name]; !ok {
				names = append(names, m.Name)
			}
			if len(byName[m.Name]) >= len(seriesColors) {
				continue
			}
			vals := make([]float64, len(labels))
			for i := range vals {
				vals[i] = math.NaN()
				if i < len(m.Points) {
					vals[i] = float64(m.Points[i].Mean)
				}
			}
			byName[m.Name] = append(byName[m.Name], series{name: s.ID, color: seriesColors[len(byName[m.Name])], values: vals})
		}
	}
	var out []healthChart
	for _, n := range names {
		hi, auto := 100.0, false
		if n == latencyMetric || n == "tls_expiry_days" || metricRank(n) == 100 {
			hi, auto = 1, true
		}
		out = append(out, healthChart{Label: MetricLabel(n), Chart: lineChart(MetricLabel(n), "", labels, byName[n], 0, hi, auto)})
	}
	return out
}

// toNum reads a template's number.
func toNum(v any) Num {
	switch x := v.(type) {
	case Num:
		return x
	case float64:
		return Num(x)
	case int:
		return Num(x)
	case int64:
		return Num(x)
	}
	return nanNum()
}

func fmtPct(n Num) string {
	if !n.Valid() {
		return "—"
	}
	f := float64(n) * 100
	switch {
	case f == 100 || f == 0:
		return fmt.Sprintf("%.0f%%", f)
	case f >= 99:
		return fmt.Sprintf("%.3f%%", f)
	}
	return fmt.Sprintf("%.2f%%", f)
}

// fmtFig says a compared figure with its unit: counts whole, the rest with
// a decimal or two.
func fmtFig(n Num, unit string) string {
	if !n.Valid() {
		return "—"
	}
	switch unit {
	case "次", "场", "起":
		return fmt.Sprintf("%.0f %s", float64(n), unit)
	case "ms":
		return fmt.Sprintf("%.0f %s", float64(n), unit)
	case "%":
		return fmt.Sprintf("%.2f%s", float64(n), unit)
	}
	return fmt.Sprintf("%.1f %s", float64(n), unit)
}

func fmtMS(n Num) string {
	if !n.Valid() {
		return "—"
	}
	return fmt.Sprintf("%.0f", float64(n))
}

func fmtNum(n Num) string { return fmtFloat(n, 0) }

func fmtFloat(n Num, prec int) string {
	if !n.Valid() {
		return "—"
	}
	return fmt.Sprintf("%.*f", prec, float64(n))
}

// fmtDur says a number of seconds as hours and minutes.
func fmtDur(s Num) string {
	if !s.Valid() {
		return "—"
	}
	d := time.Duration(float64(s) * float64(time.Second)).Round(time.Second)
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%d小时%d分", h, m)
	case m > 0:
		return fmt.Sprintf("%d分%d秒", m, sec)
	}
	return fmt.Sprintf("%d秒", sec)
}

func fmtWhen(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2006-01-02 15:04")
}

func fmtDay(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2006-01-02")
}

func fmtDelta(c Change) string {
	if !c.Delta.Valid() {
		return "—"
	}
	d := float64(c.Delta)
	sign := "+"
	if d < 0 {
		sign = "−"
	}
	prec := 0
	if c.Unit == "%" || c.Unit == "分钟" {
		prec = 2
	}
	if d == 0 {
		return "持平"
	}
	return fmt.Sprintf("%s%.*f", sign, prec, math.Abs(d))
}

func firstN(xs any, n int) any {
	switch s := xs.(type) {
	case []Line:
		return s[:min(n, len(s))]
	case []Breach:
		return s[:min(n, len(s))]
	case []Area:
		return s[:min(n, len(s))]
	case []Patrol:
		return s[:min(n, len(s))]
	}
	return xs
}

func short(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
