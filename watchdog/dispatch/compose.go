package dispatch

import (
	"fmt"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Composer writes messages, in Chinese: what, where, since when, the
// figures, the SLA class and its deadline, a link to the incident, and an
// acknowledge link for each person on duty.
type Composer struct {
	City   *config.Config
	Roster *Roster
	// Signer makes acknowledge links; nil makes none.
	Signer *AckSigner
}

var kindTitle = map[string]string{
	KindOpened:     "新故障",
	KindReopened:   "故障复发",
	KindChanged:    "故障变更",
	KindMerged:     "故障合并",
	KindResolved:   "故障已排除",
	KindReminder:   "未确认提醒",
	KindEscalation: "故障升级",
	KindSummary:    "限流汇总",
	KindTest:       "测试消息",
	KindReport:     "运维报告",
}

// causeText names a cause for people: "服务器 jd-media-1", "至高邮市分中心的网络线路".
func (c *Composer) causeText(b *incident.Brief) string {
	name := b.Subject
	if sc, ok := c.City.SubCenter(b.Subject); ok {
		name = sc.Name
	}
	switch b.Cause {
	case vocab.CauseNetwork:
		return "至" + name + "的网络线路（" + b.Subject + "）"
	case vocab.CauseUplink:
		return name + "的出口线路（" + b.Subject + "）"
	case vocab.CauseRoom:
		if r, ok := c.City.Room(b.Subject); ok {
			return "房间 " + r.Name + "（" + b.Subject + "）"
		}
	}
	return b.Cause.Chinese() + " " + b.Subject
}

// where is a receiver's sub-center, by name.
func (c *Composer) where(rc Receiver) string {
	if sc, ok := c.City.SubCenter(rc.SubCenter); ok {
		return sc.Name
	}
	return rc.SubCenter
}

// Compose writes the message telling a receiver these notices (one, or
// several grouped), at now.
func (c *Composer) Compose(rc Receiver, notices []Notice, now time.Time) *channel.Message {
	loc := c.City.Dispatch.Location()
	kind := notices[0].Kind
	for _, n := range notices[1:] {
		if n.Kind != kind {
			kind = "grouped"
		}
	}
	m := &channel.Message{ID: messageID(kind, notices), Kind: kind, At: now, SubCenter: rc.SubCenter, Level: c.Roster.Name(rc)}
	people := c.Roster.OnDuty(rc, now)
	for _, p := range people {
		m.Mentions = append(m.Mentions, channel.Mention{ID: p.ID, Name: p.Name, Mobile: p.Mobile, Email: p.Email})
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(loc).Format("2006-01-02 15:04:05")
	}
	seen := map[string]bool{}
	for _, n := range notices {
		b := n.Incident
		if !seen[b.ID] {
			seen[b.ID] = true
			m.Incidents = append(m.Incidents, brief(&b, c.link(b.ID)))
		}
	}
	if len(notices) == 1 {
		n := notices[0]
		b := n.Incident
		m.Kind = n.Kind
		m.Title = fmt.Sprintf("【%s】%s：%s（%s）", kindTitle[n.Kind], c.where(rc), c.causeText(&b), b.Class.Chinese())
		m.Lines = append(m.Lines,
			fmt.Sprintf("故障编号：%s", b.ID),
			fmt.Sprintf("故障原因：%s", c.causeText(&b)),
			fmt.Sprintf("故障地点：分中心 %s；房间 %s；服务器 %s", list(b.SubCenters), list(b.Rooms), list(b.Servers)),
			fmt.Sprintf("发生时间：%s（开单 %s）", stamp(b.DetectedAt), stamp(b.OpenedAt)),
			fmt.Sprintf("故障现象：%s", b.Summary),
		)
		switch {
		case b.State == incident.StateResolved || b.State == incident.StateSignedOff:
			m.Lines = append(m.Lines, fmt.Sprintf("排除时间：%s，处置时长 %s", stamp(b.ResolvedAt), b.Handling.Round(time.Second)))
		case b.State == incident.StateMerged:
			m.Lines = append(m.Lines, fmt.Sprintf("已并入：%s", b.MergedInto))
		default:
			left := b.Deadline.Sub(now).Round(time.Minute)
			deadline := fmt.Sprintf("故障等级：%s（%s），时限 %s（剩余 %s）", b.Class.Chinese(), b.Class, stamp(b.Deadline), left)
			if b.Breached || left < 0 {
				deadline = fmt.Sprintf("故障等级：%s（%s），时限 %s（已超时）", b.Class.Chinese(), b.Class, stamp(b.Deadline))
			}
			m.Lines = append(m.Lines, deadline)
		}
		if n.Text != "" {
			m.Lines = append(m.Lines, "说明："+n.Text)
		}
		if !b.Paging {
			m.Lines = append(m.Lines, "维护窗口："+b.MutedBy)
		}
	} else {
		m.Title = fmt.Sprintf("【故障通知】%s：%d 条", c.where(rc), len(notices))
		for _, n := range notices {
			b := n.Incident
			line := fmt.Sprintf("· [%s] %s %s（%s）房间 %s", kindTitle[n.Kind], b.ID, c.causeText(&b), b.Class.Chinese(), list(b.Rooms))
			if n.Text != "" {
				line += "：" + n.Text
			}
			m.Lines = append(m.Lines, line)
		}
	}
	if len(people) > 0 {
		var names []string
		for _, p := range people {
			names = append(names, p.Name)
		}
		m.Lines = append(m.Lines, "当前值班："+strings.Join(names, "、"))
	}
	for _, in := range m.Incidents {
		if in.URL != "" {
			m.Links = append(m.Links, channel.Link{Text: "查看 " + in.ID, URL: in.URL})
		}
	}
	if c.Signer != nil {
		for _, in := range m.Incidents {
			if !incident.State(in.State).Active() {
				continue
			}
			for _, p := range people {
				m.Links = append(m.Links, channel.Link{Text: fmt.Sprintf("%s 确认接单 %s", p.Name, in.ID), URL: c.Signer.Link(in.ID, p.ID, now)})
			}
		}
	}
	return m
}

// link is an incident's page, or "".
func (c *Composer) link(id string) string {
	if c.City.Dispatch.ConsoleURL == "" {
		return ""
	}
	return strings.ReplaceAll(c.City.Dispatch.ConsoleURL, "{id}", id)
}

func brief(b *incident.Brief, url string) channel.Incident {
	return channel.Incident{
		ID: b.ID, Key: b.Key, State: string(b.State), Class: string(b.Class), Severity: string(b.Severity),
		Cause: string(b.Cause), Subject: b.Subject, Summary: b.Summary,
		SubCenters: b.SubCenters, Rooms: b.Rooms, Servers: b.Servers,
		DetectedAt: b.DetectedAt, OpenedAt: b.OpenedAt, Deadline: b.Deadline, ResolvedAt: b.ResolvedAt, Breached: b.Breached, URL: url,
	}
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "-"
	}
	return strings.Join(xs, ", ")
}

// TestMessage is the message `bidwatch alerts test` sends through a
// channel: it says what it is, in Chinese, with the city and the time.
func TestMessage(city *config.Config, ch string, now time.Time) *channel.Message {
	loc := city.Dispatch.Location()
	m := &channel.Message{Kind: KindTest, At: now,
		Title: fmt.Sprintf("【测试消息】%s 派单通道 %s", city.City.Name, ch),
		Lines: []string{
			"这是一条测试消息，用于确认派单告警通道可用；无需处理。",
			"This is a test of a bidwatch dispatch channel; nothing to do.",
			"发送时间：" + now.In(loc).Format("2006-01-02 15:04:05"),
		}}
	m.ID = messageID(KindTest, []Notice{{ID: ch + "|" + now.Format(time.RFC3339Nano)}})
	return m
}
