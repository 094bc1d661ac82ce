package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
)

// TestCSV reads the synthetic month's CSV back: a byte-order mark, then
// one table per part, each "# part" and its columns, the figures as
// numbers.
func TestCSV(t *testing.T) {
	rep, err := Build(context.Background(), fixture(t), november(t))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	data, ok := bytes.CutPrefix(b.Bytes(), []byte("\uFEFF"))
	if !ok {
		t.Fatal("no byte-order mark")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string][][]string{}
	var order []string
	cur := ""
	for _, rec := range recs {
		if len(rec) == 1 && strings.HasPrefix(rec[0], "# ") {
			cur = strings.TrimPrefix(rec[0], "# ")
			order = append(order, cur)
			continue
		}
		if len(rec) == 1 && rec[0] == "" {
			continue
		}
		tables[cur] = append(tables[cur], rec)
	}
	want := "概要 与上期对比 分中心 房间 趋势（每日） 开标场次 故障（按SLA类别） 超时故障 故障清单 自动处置 日常巡检 服务器健康 最差房间 重复出现的问题 多次发生故障的房间"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("parts:\n%s\nwant\n%s", got, want)
	}
	value := func(table, key string, col int) string {
		for _, rec := range tables[table] {
			if rec[0] == key && col < len(rec) {
				return rec[col]
			}
		}
		t.Fatalf("%s: no row %s", table, key)
		return ""
	}
	num := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return f
	}
	near(t, "可用率", Num(num(value("概要", "可用率", 1))), 1-60.0/2649)
	near(t, "SLA达标率", Num(num(value("概要", "SLA达标率", 1))), 0.5)
	near(t, "MTTR", Num(num(value("概要", "MTTR_s", 1))), 4200)
	eq(t, "sessions", len(tables["开标场次"])-1, 4)
	eq(t, "S2 outcome", value("开标场次", "S2", 5), OutcomeDisrupted)
	eq(t, "incidents", len(tables["故障清单"])-1, 4)
	eq(t, "major compliance is empty", value("故障（按SLA类别）", "major", 7), "")
	eq(t, "patrol", value("日常巡检", "zx-h1", 2), "48")
	eq(t, "days", len(tables["趋势（每日）"])-1, 30)
	eq(t, "evidence", value("概要", "证据链_序号", 1), "42")
}

// TestJSONRoundTrip: the JSON reads back with the same figures, missing
// ones as null.
func TestJSONRoundTrip(t *testing.T) {
	rep, err := Build(context.Background(), fixture(t), november(t))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"sla_compliance": null`) { // the major class
		t.Error("a missing figure is not null")
	}
	back, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "availability", back.Summary.Availability, float64(rep.Summary.Availability))
	near(t, "p95", back.Summary.RTTP95, float64(rep.Summary.RTTP95))
	near(t, "major compliance", back.Incidents.ByClass[3].Compliance, float64(rep.Incidents.ByClass[3].Compliance))
	eq(t, "sessions", len(back.Sessions.List), 4)
	eq(t, "period", back.Period.Start.Equal(rep.Period.Start), true)
	eq(t, "evidence", back.Evidence.Head.Hash, rep.Evidence.Head.Hash)
}
