package report

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteJSON writes the report as one indented JSON document (format
// Version); missing figures are null.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write the report as JSON: %w", err)
	}
	return nil
}

// ReadJSON reads a report WriteJSON wrote.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	if r.Version != Version {
		return nil, fmt.Errorf("read report: version %q, want %q", r.Version, Version)
	}
	return &r, nil
}

// WriteCSV writes the report as CSV (UTF-8 with a byte-order mark, so a
// spreadsheet shows the Chinese): one table per part, each headed by a
// line "# <part>" and its column names, the tables apart by an empty line.
// Figures are plain numbers (shares 0–1, times in ms or s as the column
// says); a missing one is empty.
func (r *Report) WriteCSV(w io.Writer) error {
	bw := &errWriter{w: w}
	bw.write([]byte("\uFEFF"))
	cw := csv.NewWriter(bw)
	t := func(name string, header ...string) {
		if name != "概要" {
			_ = cw.Write(nil)
		}
		_ = cw.Write([]string{"# " + name})
		_ = cw.Write(header)
	}
	row := func(cells ...string) { _ = cw.Write(cells) }

	t("概要", "项目", "值")
	row("报告", r.Title)
	row("格式", r.Version)
	row("时段", r.Period.Name())
	row("开始", ts(r.Period.Start))
	row("结束", ts(r.Period.End))
	row("数据截至", ts(r.Until))
	row("时区", r.TimeZone)
	row("范围", r.Scope.Name)
	row("生成时间", ts(r.Generated))
	row("说明", r.Notice)
	s := r.Summary
	row("可用率", f(s.Availability))
	row("良好率", f(s.GoodShare))
	row("延时P50_ms", f(s.RTTP50))
	row("延时P95_ms", f(s.RTTP95))
	row("延时P99_ms", f(s.RTTP99))
	row("卡顿_分钟", f(s.StutterMin))
	row("断线次数", i64(s.Dropouts))
	row("监测场次", strconv.Itoa(s.Sessions))
	row("中断场次", strconv.Itoa(s.Disrupted))
	row("故障数", strconv.Itoa(s.Incidents))
	row("超时故障", strconv.Itoa(s.Breaches))
	row("SLA达标率", f(s.Compliance))
	row("MTTA_s", f(s.MTTAS))
	row("MTTR_s", f(s.MTTRS))
	row("自动处置成功率", f(s.RemedySuccess))
	row("日常巡检覆盖率", f(s.PatrolCoverage))
	if r.Evidence != nil {
		row("证据链_序号", i64(r.Evidence.Head.N))
		row("证据链_哈希", r.Evidence.Head.Hash)
		row("证据链_签名", base64.StdEncoding.EncodeToString(r.Evidence.Head.Signature))
		row("证据链_签名密钥", r.Evidence.Head.KeyID)
	}
	if r.Previous != nil {
		t("与上期对比", "指标", "名称", "单位", "本期", "上期", "变化")
		for _, c := range r.Previous.Changes {
			row(c.Figure, c.Name, c.Unit, f(c.Now), f(c.Prev), f(c.Delta))
		}
	}
	figHeader := []string{"可用率", "良好率", "P50_ms", "P95_ms", "P99_ms", "卡顿_分钟", "断线", "监测_ms", "断线_ms", "降级_ms"}
	figCells := func(x Figures) []string {
		return []string{f(x.Availability), f(x.GoodShare), f(x.RTTP50), f(x.RTTP95), f(x.RTTP99), f(x.StutterMin),
			i64(x.Dropouts), i64(x.ObservedMS), i64(x.DownMS), i64(x.DegradedMS)}
	}
	t("分中心", append([]string{"分中心", "名称", "房间"}, append(figHeader, "场次", "故障")...)...)
	for _, a := range r.SubCenters {
		row(append([]string{a.ID, a.Name, strconv.Itoa(a.Rooms)}, append(figCells(a.Figures), strconv.Itoa(a.Sessions), strconv.Itoa(a.Incidents))...)...)
	}
	t("房间", append([]string{"房间", "名称", "分中心"}, append(figHeader, "场次", "故障")...)...)
	for _, a := range r.Rooms {
		row(append([]string{a.ID, a.Name, a.SubCenter}, append(figCells(a.Figures), strconv.Itoa(a.Sessions), strconv.Itoa(a.Incidents))...)...)
	}
	t("趋势（每"+map[string]string{"hour": "小时", "day": "日"}[r.SeriesStep]+"）", append([]string{"时间"}, figHeader...)...)
	for _, p := range r.Series {
		row(append([]string{ts(p.At)}, figCells(p.Figures)...)...)
	}
	t("开标场次", "场次", "房间", "名称", "开始", "结束", "结果", "可用率", "良好率", "平均延时_ms", "卡顿_分钟", "断线", "故障")
	for _, x := range r.Sessions.List {
		row(x.ID, x.Room, x.RoomName, ts(x.Start), ts(x.End), x.Outcome, f(x.Availability), f(x.GoodShare), f(x.RTTMean),
			f(x.StutterMin), i64(x.Dropouts), strings.Join(x.Incidents, " "))
	}
	t("故障（按SLA类别）", "类别", "名称", "时限_s", "故障数", "按时排除", "超时", "处理中", "SLA达标率", "MTTA_s", "MTTR_s")
	for _, c := range r.Incidents.ByClass {
		row(string(c.Class), c.Name, strconv.FormatFloat(c.DeadlineS, 'f', -1, 64), strconv.Itoa(c.Count), strconv.Itoa(c.Met),
			strconv.Itoa(c.Breached), strconv.Itoa(c.Pending), f(c.Compliance), f(c.MTTAS), f(c.MTTRS))
	}
	t("超时故障", "编号", "类别", "发生", "时限", "排除", "故障现象", "超时原因", "处置结果")
	for _, b := range r.Incidents.Breaches {
		row(b.ID, string(b.Class), ts(b.Opened), ts(b.Deadline), ts(b.Resolved), b.Summary, b.Reason, b.Result)
	}
	t("故障清单", "编号", "问题", "类别", "状态", "原因", "对象", "故障现象", "房间", "发生", "确认接单", "排除", "处置时长_s", "时限", "SLA")
	for _, l := range r.Incidents.List {
		row(l.ID, l.Key, string(l.Class), string(l.State), l.Cause, l.Subject, l.Summary, strings.Join(l.Rooms, " "),
			ts(l.Opened), ts(l.Acked), ts(l.Resolved), strconv.FormatFloat(l.HandlingS, 'f', -1, 64), ts(l.Deadline), l.SLA)
	}
	t("自动处置", "处置预案", "执行", "验证有效", "无效", "中断", "进行中", "拒绝执行", "演练", "成功率")
	for _, rb := range r.Remediation.PerRunbook {
		row(rb.Name, strconv.Itoa(rb.Attempts), strconv.Itoa(rb.Verified), strconv.Itoa(rb.Failed), strconv.Itoa(rb.Interrupted),
			strconv.Itoa(rb.Unfinished), strconv.Itoa(rb.Refused), strconv.Itoa(rb.DryRuns), f(rb.Success))
	}
	t("日常巡检", "房间", "名称", "巡检小时", "时段小时", "覆盖率", "最长间隔_小时", "间隔开始", "最近巡检")
	for _, p := range r.Patrol {
		row(p.Room, p.Name, strconv.Itoa(p.Checked), strconv.Itoa(p.Hours), f(p.Coverage), strconv.Itoa(p.LongestGapH), ts(p.GapFrom), ts(p.LastCheck))
	}
	t("服务器健康", "服务器", "名称", "角色", "检查次数", "失败", "指标", "时间", "平均", "最高")
	for _, s := range r.Health {
		for _, m := range s.Metrics {
			row(s.ID, s.Name, s.Role, i64(s.Checks), i64(s.Failed), m.Name, "全期", f(m.Mean), f(m.Max))
			for _, p := range m.Points {
				if p.Mean.Valid() {
					row(s.ID, s.Name, s.Role, "", "", m.Name, ts(p.At), f(p.Mean), f(p.Max))
				}
			}
		}
	}
	t("最差房间", append([]string{"房间", "名称", "分中心"}, figHeader...)...)
	for _, a := range r.Worst {
		row(append([]string{a.ID, a.Name, a.SubCenter}, figCells(a.Figures)...)...)
	}
	t("重复出现的问题", "问题", "原因", "对象", "次数", "最重类别", "故障编号")
	for _, x := range r.Recurring {
		row(x.Key, x.Cause, x.Subject, strconv.Itoa(x.Count), string(x.Worst), strings.Join(x.IDs, " "))
	}
	t("多次发生故障的房间", "房间", "名称", "故障次数", "故障编号")
	for _, x := range r.RepeatRooms {
		row(x.Room, x.Name, strconv.Itoa(x.Count), strings.Join(x.IDs, " "))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write the report as CSV: %w", err)
	}
	if bw.err != nil {
		return fmt.Errorf("write the report as CSV: %w", bw.err)
	}
	return nil
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	e.write(p)
	if e.err != nil {
		return 0, e.err
	}
	return len(p), nil
}

func (e *errWriter) write(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

func f(n Num) string {
	if !n.Valid() {
		return ""
	}
	return strconv.FormatFloat(float64(n), 'f', -1, 64)
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}
