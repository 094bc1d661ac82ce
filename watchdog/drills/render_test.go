package drills

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// testScorecard is a run of two drills: the first answered in time, the
// second blamed on the wrong thing; and an incident no drill explains.
func testScorecard() Scorecard {
	run := testRun(func(r *Run) {
		r.Script = "测试演练 <script>"
		r.Drills = append(r.Drills, Drill{Index: 1, Name: "path from gy congested", Title: "path from gy congested",
			PlannedStart: 2 * m, PlannedEnd: 3 * m, StartedAt: at(2 * m), StoppedAt: at(3 * m),
			Faults: []Fault{{Kind: "path", Target: "gy", Locations: []string{"gy"}, SubCenters: []string{"gy"}, Detail: "delay=700ms"}},
			Expect: []Expect{{Cause: "network", Subject: "gy"}}})
	})
	incs := []incident.Incident{
		mk("INC-1", "server:jd-media-1", 50*s, 40*s, map[string]time.Duration{"alert": 55 * s, "acknowledged": 5 * m, "resolved": 10 * m}),
		mk("INC-2", "room:gy-hall-1", 150*s, 140*s, map[string]time.Duration{"alert": 160 * s}, func(i *incident.Incident) { i.Place.Locations = []string{"gy"} }),
		mk("INC-3", "room:yz-hall-1", 150*s, 140*s, nil),
	}
	return Score(run, incs, targets, DefaultGrace, at(3*time.Hour))
}

func TestWriteHTML(t *testing.T) {
	sc := testScorecard()
	var buf bytes.Buffer
	loc := time.FixedZone("CST", 8*3600)
	if err := sc.WriteHTML(&buf, loc); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"<title>应急演练报告 — 测试演练 &lt;script&gt;</title>", // escaped
		"@page { size: A4;",
		"考核目标", "各项演练得分", "演练过程与问题", "未对应任何演练故障的故障单", "交易中心 审核", "签字 / 日期",
		"开始：2026-12-03 17:00:00", // in loc
		"INC-1", "INC-2", "INC-3",
		"归因错误：判为「房间/应用 gy-hall-1」，应为「网络线路 gy」", // the second drill
		"服务器 jd-media-1", "网络线路 gy", "delay=700ms",
		`<span class="met">30秒 达标</span>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the HTML lacks %q", want)
		}
	}
	if strings.Contains(out, "<no value>") || strings.Contains(out, "<script>") {
		t.Error("the HTML has an unfilled or unescaped value")
	}
}

func TestWriteJSONAndCSV(t *testing.T) {
	sc := testScorecard()
	var buf bytes.Buffer
	if err := sc.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Version string    `json:"version"`
		Score   int       `json:"score"`
		Drills  []any     `json:"drills"`
		Run     Run       `json:"run"`
		MadeAt  time.Time `json:"made_at"`
	}
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Version != Version || back.Score != sc.Score || len(back.Drills) != 2 || back.Run.ID != "r1" {
		t.Errorf("JSON read back: %+v", back)
	}

	buf.Reset()
	if err := sc.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Errorf("header %q", rows[0])
	}
	count := map[string]int{}
	for _, r := range rows[1:] {
		count[r[3]]++
	}
	// Two drills × (cause + 5 steps), their problems, one unexplained, the score.
	if count["cause"] != 2 || count["detect"] != 2 || count["sla"] != 2 || count["unexplained"] != 1 || count["score"] != 1 || count["problem"] < 2 {
		t.Errorf("rows by item %v", count)
	}
	last := rows[len(rows)-1]
	if last[3] != "score" || last[8] != itoa(sc.Score) {
		t.Errorf("last row %q", last)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
