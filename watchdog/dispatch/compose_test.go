package dispatch

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// composeCity is rosterCity with a console URL and acknowledge links.
func composeCity(t testing.TB) *config.Config {
	t.Helper()
	c := rosterCity(t, "Asia/Shanghai")
	c.Dispatch.ConsoleURL = "https://bidwatch.example.gov.cn/incidents/{id}"
	c.Dispatch.Ack = ackLinks()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// golden renders a message as people read it, with its kind and who it
// mentions; the id is checked apart.
func golden(m *channel.Message) string {
	var who []string
	for _, p := range m.Mentions {
		who = append(who, p.ID+"="+p.Name)
	}
	return "kind: " + m.Kind + "\nmentions: " + strings.Join(who, ", ") + "\n" + m.Text()
}

const goldenOpened = `kind: opened
mentions: zhang=张工
【新故障】江都区分中心：服务器 jd-media-1（部分功能故障）
故障编号：INC-000042
故障原因：服务器 jd-media-1
故障地点：分中心 jd；房间 jd-hall-1；服务器 jd-media-1
发生时间：2026-03-02 09:00:05（开单 2026-03-02 09:00:12）
故障现象：江都音视频服务器 健康检查连续失败 2 次；房间 jd-hall-1 延迟 p95 620 ms
故障等级：部分功能故障（partial），时限 2026-03-02 11:00:12（剩余 1h50m0s）
当前值班：张工
查看 INC-000042: https://bidwatch.example.gov.cn/incidents/INC-000042
张工 确认接单 INC-000042: https://bidwatch.example.gov.cn/ack?e=1772428200&i=INC-000042&p=zhang&s=SIG`

const goldenResolved = `kind: resolved
mentions: zhang=张工
【故障已排除】江都区分中心：服务器 jd-media-1（部分功能故障）
故障编号：INC-000042
故障原因：服务器 jd-media-1
故障地点：分中心 jd；房间 jd-hall-1；服务器 jd-media-1
发生时间：2026-03-02 09:00:05（开单 2026-03-02 09:00:12）
故障现象：江都音视频服务器 健康检查连续失败 2 次；房间 jd-hall-1 延迟 p95 620 ms
排除时间：2026-03-02 09:40:12，处置时长 40m0s
当前值班：张工
查看 INC-000042: https://bidwatch.example.gov.cn/incidents/INC-000042`

const goldenGrouped = `kind: grouped
mentions: zhang=张工
【故障通知】江都区分中心：2 条
· [新故障] INC-000043 房间 江都区分中心远程协调室（jd-coord-1）（一般故障）房间 jd-coord-1
· [故障已排除] INC-000042 服务器 jd-media-1（部分功能故障）房间 jd-hall-1
当前值班：张工
查看 INC-000043: https://bidwatch.example.gov.cn/incidents/INC-000043
查看 INC-000042: https://bidwatch.example.gov.cn/incidents/INC-000042
张工 确认接单 INC-000043: https://bidwatch.example.gov.cn/ack?e=1772428200&i=INC-000043&p=zhang&s=SIG`

func TestCompose(t *testing.T) {
	c := composeCity(t)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	at := func(h, m, s int) time.Time { return time.Date(2026, 3, 2, h, m, s, 0, sh) }
	server := incident.Brief{ID: "INC-000042", Key: "server:jd-media-1", State: incident.StateOpen, Class: vocab.ClassPartial, Severity: vocab.SeverityCritical,
		Cause: vocab.CauseServer, Subject: "jd-media-1", Summary: "江都音视频服务器 健康检查连续失败 2 次；房间 jd-hall-1 延迟 p95 620 ms",
		SubCenters: []string{"jd"}, Rooms: []string{"jd-hall-1"}, Servers: []string{"jd-media-1"}, Paging: true,
		DetectedAt: at(9, 0, 5), OpenedAt: at(9, 0, 12), Deadline: at(11, 0, 12)}
	resolved := server
	resolved.State, resolved.ResolvedAt, resolved.Handling = incident.StateResolved, at(9, 40, 12), 40*time.Minute
	room := incident.Brief{ID: "INC-000043", Key: "room:jd-coord-1", State: incident.StateOpen, Class: vocab.ClassMinor, Severity: vocab.SeverityDegraded,
		Cause: vocab.CauseRoom, Subject: "jd-coord-1", Summary: "房间 jd-coord-1 卡顿 7.5%", SubCenters: []string{"jd"}, Rooms: []string{"jd-coord-1"}, Paging: true,
		DetectedAt: at(9, 8, 0), OpenedAt: at(9, 8, 30), Deadline: at(10, 8, 30)}
	jd0 := Receiver{SubCenter: "jd"}
	notice := func(kind string, b incident.Brief, what, text string) Notice {
		return Notice{ID: noticeID(b.ID, what, jd0), Kind: kind, Receiver: jd0, Incident: b, Text: text}
	}
	now := at(9, 10, 0)
	tests := []struct {
		name      string
		notices   []Notice
		golden    string
		ackLinks  []string // incidents with acknowledge links
		incidents []string
	}{
		{"opened", []Notice{notice(KindOpened, server, "1-0", "")}, goldenOpened, []string{"INC-000042"}, []string{"INC-000042"}},
		{"resolved: no acknowledge link", []Notice{notice(KindResolved, resolved, "2-0", "")}, goldenResolved, nil, []string{"INC-000042"}},
		{"grouped: a new room incident and the server's resolution", []Notice{
			notice(KindOpened, room, "3-0", ""), notice(KindResolved, resolved, "2-0", ""),
		}, goldenGrouped, []string{"INC-000043"}, []string{"INC-000043", "INC-000042"}},
	}
	sig := regexp.MustCompile(`s=[A-Za-z0-9_-]{43}`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			comp := &Composer{City: c, Roster: NewRoster(c), Signer: NewAckSigner(c.Dispatch.Ack)}
			m := comp.Compose(jd0, tt.notices, now)
			got := sig.ReplaceAllString(golden(m), "s=SIG")
			if got != tt.golden {
				t.Errorf("message:\n%s\n\nwant:\n%s", got, tt.golden)
			}
			if !regexp.MustCompile(`^MSG-[0-9a-f]{20}$`).MatchString(m.ID) {
				t.Errorf("id %q", m.ID)
			}
			// The id is stable: the same notices in another order, later.
			rev := append([]Notice(nil), tt.notices...)
			for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
				rev[i], rev[j] = rev[j], rev[i]
			}
			if again := comp.Compose(jd0, rev, now.Add(time.Minute)); again.ID != m.ID {
				t.Errorf("id %s, composed again %s", m.ID, again.ID)
			}
			for _, s := range append([]string{m.Title}, m.Lines...) {
				if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
					t.Errorf("not intact UTF-8: %q", s)
				}
			}
			var acks, ins []string
			for _, l := range m.Links {
				if strings.Contains(l.Text, "确认接单") {
					u, err := url.Parse(l.URL)
					if err != nil {
						t.Fatal(err)
					}
					id, person, _, err := comp.Signer.Check(u.Query(), now)
					if err != nil || person != "zhang" {
						t.Errorf("acknowledge link %s: %s, %v", l.URL, person, err)
					}
					acks = append(acks, id)
				}
			}
			for _, in := range m.Incidents {
				ins = append(ins, in.ID)
			}
			if strings.Join(acks, ",") != strings.Join(tt.ackLinks, ",") {
				t.Errorf("acknowledge links for %v, want %v", acks, tt.ackLinks)
			}
			if strings.Join(ins, ",") != strings.Join(tt.incidents, ",") {
				t.Errorf("incidents %v, want %v", ins, tt.incidents)
			}
		})
	}
	t.Run("no signer: no acknowledge links", func(t *testing.T) {
		comp := &Composer{City: c, Roster: NewRoster(c)}
		m := comp.Compose(jd0, []Notice{notice(KindOpened, server, "1-0", "")}, now)
		for _, l := range m.Links {
			if strings.Contains(l.Text, "确认接单") {
				t.Errorf("link %+v without a signer", l)
			}
		}
	})
}
