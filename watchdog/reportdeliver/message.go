package reportdeliver

import (
	"fmt"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/dispatch"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/report"
)

// KindReport is the dispatch message kind of a scheduled report.
const KindReport = dispatch.KindReport

// Message is a report's dispatch message: its title, the headline figures
// (availability, sessions, incidents, breaches, MTTA/MTTR) one a line, a
// link to the console's copy when publicURL is set, and the HTML attached.
func Message(rep *report.Report, j Job, html []byte, publicURL string, now time.Time) *channel.Message {
	h := rep.Summary
	lines := []string{
		"范围：" + rep.Scope.Name + "；时段：" + rep.Period.Name(),
		"可用率（投标人视角）：" + pct(h.Availability) + "；良好率：" + pct(h.GoodShare),
		fmt.Sprintf("开标场次：%d，受影响 %d", h.Sessions, h.Disrupted),
		fmt.Sprintf("故障：%d 起，超出 SLA 时限 %d 起，SLA 达标率 %s", h.Incidents, h.Breaches, pct(h.Compliance)),
		"平均接单时间（MTTA）：" + secs(h.MTTAS) + "；平均排除时间（MTTR）：" + secs(h.MTTRS),
	}
	if rep.Notice != "" {
		lines = append(lines, rep.Notice)
	}
	m := &channel.Message{
		ID: j.MessageID(), Kind: KindReport, At: now, Title: rep.Title, Lines: lines,
		Attachments: []channel.Attachment{{Name: fileName(rep.Title) + ".html", ContentType: "text/html; charset=utf-8", Data: html}},
	}
	if publicURL != "" {
		m.Links = []channel.Link{{Text: "查看报告", URL: strings.TrimRight(publicURL, "/") + "/reports/" + j.FileID()}}
	}
	return m
}

// fileName makes a title a safe file name: no path separators or
// control characters.
func fileName(title string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, title)
}

func pct(n report.Num) string {
	if !n.Valid() {
		return "无数据"
	}
	return fmt.Sprintf("%.2f %%", float64(n)*100)
}

func secs(n report.Num) string {
	if !n.Valid() {
		return "无"
	}
	d := time.Duration(float64(n) * float64(time.Second)).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d秒", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d分%02d秒", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d小时%02d分", int(d.Hours()), int(d.Minutes())%60)
}
