package drills

import (
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// Version names the drill report's JSON format.
const Version = "bidwatch-drill-report/1"

//go:embed report.html.tmpl
var htmlText string

var page = template.Must(template.New("drill").Funcs(template.FuncMap{
	"dur":    Duration,
	"pts":    func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
	"inc":    func(i int) int { return i + 1 },
	"vclass": verdictClass,
	"step": func(s Step) template.HTML {
		text := s.Verdict.Chinese()
		if s.Done {
			text = Duration(s.After) + " " + text
		}
		return template.HTML(`<span class="` + verdictClass(s.Verdict) + `">` + template.HTMLEscapeString(text) + `</span>`)
	},
	"cause":     func(c any) string { return vocab.Cause(fmt.Sprint(c)).Chinese() },
	"class":     func(c vocab.Class) string { return c.Chinese() },
	"join":      func(xs []string) string { return strings.Join(xs, "、") },
	"faultKind": faultKindChinese,
	"place": func(f Fault) string {
		var parts []string
		if len(f.Rooms) > 0 {
			parts = append(parts, "会议室 "+strings.Join(f.Rooms, "、"))
		}
		if len(f.Locations) > 0 {
			parts = append(parts, "自 "+strings.Join(f.Locations, "、")+" 观看")
		}
		if len(f.SubCenters) > 0 {
			parts = append(parts, "分中心 "+strings.Join(f.SubCenters, "、"))
		}
		return strings.Join(parts, "；")
	},
}).Parse(htmlText))

func verdictClass(v Verdict) string {
	if v == NotApplicable {
		return "na"
	}
	return string(v)
}

// faultKindChinese names a fault's kind: 服务器, 会议室, 网络线路.
func faultKindChinese(kind string) string {
	switch kind {
	case "server":
		return "服务器"
	case "room":
		return "会议室"
	case "path":
		return "网络线路"
	}
	return kind
}

// Title is the report's title: "应急演练报告 — 扬州演示城市应急演练".
func (sc *Scorecard) Title() string {
	if sc.Run.Script == "" {
		return "应急演练报告"
	}
	return "应急演练报告 — " + sc.Run.Script
}

// ScoredCount is how many drills count in the score.
func (sc *Scorecard) ScoredCount() int {
	n := 0
	for _, d := range sc.Drills {
		if d.Scored {
			n++
		}
	}
	return n
}

type htmlView struct {
	*Scorecard
	Penalty int
	Zone    string
	loc     *time.Location
}

// WriteHTML writes the report as one printable HTML page (A4, Chinese),
// times in loc.
func (sc *Scorecard) WriteHTML(w io.Writer, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	return page.Execute(w, htmlView{Scorecard: sc, Penalty: UnexplainedPenalty, Zone: loc.String(), loc: loc})
}

// When is a time in the report's zone.
func (v htmlView) When(t time.Time) string { return t.In(v.loc).Format("2006-01-02 15:04:05") }

// WriteJSON writes the scorecard as JSON, with its format's version.
func (sc *Scorecard) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Version string `json:"version"`
		Title   string `json:"title"`
		*Scorecard
	}{Version, sc.Title(), sc})
}

// CSVHeader is the CSV's first row.
var CSVHeader = []string{"run", "drill", "title", "item", "verdict", "after_s", "target_s", "incident", "text"}

// WriteCSV writes one row per drill and step (cause, detect, alert,
// acknowledge, mitigate, sla), one per problem, one per unexplained
// incident (drill empty) and the score (drill empty).
func (sc *Scorecard) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	secs := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Milliseconds())/1000, 'f', -1, 64) }
	_ = cw.Write(CSVHeader)
	for _, ds := range sc.Drills {
		drill := strconv.Itoa(ds.Drill.Index + 1)
		primary := ""
		if ds.Primary != nil {
			primary = ds.Primary.ID
		}
		row := func(item, verdict, after, target, inc, text string) {
			_ = cw.Write([]string{sc.Run.ID, drill, ds.Drill.Title, item, verdict, after, target, inc, text})
		}
		if !ds.Scored {
			row("scored", "no", "", "", "", "")
		}
		if ds.Cause != "" {
			row("cause", string(ds.Cause), "", "", primary, "")
		}
		for _, s := range ds.Steps {
			after := ""
			if s.Done {
				after = secs(s.After)
			}
			row(s.Name, string(s.Verdict), after, secs(s.Target), primary, "")
		}
		for _, p := range ds.Problems {
			row("problem", p.Kind, "", "", "", p.Text)
		}
	}
	for _, r := range sc.Unexplained {
		_ = cw.Write([]string{sc.Run.ID, "", "", "unexplained", "", "", "", r.ID, string(r.Cause) + " " + r.Subject})
	}
	_ = cw.Write([]string{sc.Run.ID, "", sc.Title(), "score", sc.Grade, "", "", "", strconv.Itoa(sc.Score)})
	cw.Flush()
	return cw.Error()
}
