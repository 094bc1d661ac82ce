package incident

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// cst is the trading center's zone (UTC+8), spelled out so the tests need
// no zone database.
var cst = time.FixedZone("CST", 8*3600)

func TestWriteTable(t *testing.T) {
	incs := records(t)
	now := t0.Add(2 * time.Hour)
	soon := opened("INC-000004", roomProblem("a-room-with-a-long-name-1", 400), t0.Add(90*time.Minute))
	soon.Place.Rooms = append(soon.Place.Rooms, "a-room-with-a-long-name-2", "a-room-with-a-long-name-3")
	incs = append(incs, soon)
	var buf bytes.Buffer
	if err := WriteTable(&buf, incs, now, cst); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "DEADLINE") {
		t.Fatalf("table:\n%s", buf.String())
	}
	tests := []struct {
		id      string
		want    []string
		notWant []string
	}{
		{"INC-000001", []string{"resolved", "partial", "server yz-media-1", "yz-hall-1,yz-hall-2", "11-02 17:30:00", "11-02 19:30"}, []string{"BREACHED", "left", "merged"}},
		{"INC-000002", []string{"merged", "room yz-hall-2", "merged into INC-000001"}, []string{"BREACHED", "left"}},
		{"INC-000003", []string{"open", "minor", "room yz-hall-3", "11-02 18:30 BREACHED"}, []string{"left"}},
		{"INC-000004", []string{"open", "minor", "11-02 19:00:00", "11-02 20:00 (30m0s left)", "a-room-with-a-long-name-1,a-room-with..."}, []string{"BREACHED", "name-3"}},
	}
	for i, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			l := lines[i+1]
			if !strings.HasPrefix(l, tt.id+" ") {
				t.Fatalf("line %q", l)
			}
			for _, s := range tt.want {
				if !strings.Contains(l, s) {
					t.Errorf("%q lacks %q", l, s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(l, s) {
					t.Errorf("%q has %q", l, s)
				}
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteTable(&buf, nil, now, cst); err != nil || buf.String() != "no incidents\n" {
			t.Errorf("%v %q", err, buf.String())
		}
	})
}

func TestWriteRecord(t *testing.T) {
	incs := records(t)
	now := t0.Add(2 * time.Hour)
	signed := must(t, must(t, opened("INC-000005", roomProblem(hall1, 400), t0),
		Action{Kind: ActResolve, Actor: "张工", At: t0.Add(10 * time.Minute), Text: "network cable replaced"}),
		Action{Kind: ActSignOff, Actor: "李主任", At: t0.Add(time.Hour)})
	active := opened("INC-000006", roomProblem(hall1, 400), t0.Add(90*time.Minute))
	// The contract's order of a fault record.
	order := []string{"incident 故障", "time 时间", "deadline 时限", "place 地点", "phenomenon 故障现象", "cause 故障原因",
		"handling process 处置过程:", "result 处置结果", "handling time 处置时长"}
	tests := []struct {
		name    string
		inc     Incident
		want    []string
		notWant []string
	}{
		{"a server incident another was merged into", incs[0], []string{
			"INC-000001  resolved (已排除)  class partial 部分功能故障 (cause=server → partial)  severity critical",
			"detected 2026-11-02 17:29:30, opened 2026-11-02 17:30:00",
			"deadline 时限|2026-11-02 19:30:00",
			"sub-centers yz; rooms yz-hall-1, yz-hall-2; servers yz-media-1; seen from yz",
			"RTT p95 450 ms (max 530 ms)", "3 participants down, 3 dropouts", "yz-media-1 cpu_pct 97.0", "errors: read: connection reset",
			"server yz-media-1: server yz-media-1 (media)",
			"merged 合并|INC-000002 merged in",
			"[INC-000002]",
			`media restarted, "hot" spare, done`,
			"handling time 处置时长|30m0s",
		}, []string{"BREACHED", "so far", "its record continues there", "paging", "签字认可"}},
		{"the merged room incident", incs[1], []string{
			"INC-000002  merged (已合并)",
			"merged 合并|into INC-000001: its record continues there",
			"handling time 处置时长|counted in INC-000001",
			"result 处置结果|-",
		}, []string{"merged in\n", "[INC-"}},
		{"an open, muted incident past its deadline", incs[2], []string{
			"INC-000003  open (待处理)  class minor 一般故障",
			"2026-11-02 18:30:00  BREACHED",
			"paging|off (maintenance window nightly)",
			"handling time 处置时长|2h0m0s so far",
		}, []string{"merged 合并", "left"}},
		{"a signed-off incident", signed, []string{
			"INC-000005  signed_off (已签字认可)",
			"signed off 签字认可|2026-11-02 18:30:00 by 李主任",
			"result 处置结果|network cable replaced",
			"handling time 处置时长|10m0s",
		}, []string{"so far", "BREACHED"}},
		{"an active incident within its deadline", active, []string{
			"deadline 时限|2026-11-02 20:00:00  (30m0s left)",
			"handling time 处置时长|30m0s so far",
		}, []string{"BREACHED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteRecord(&buf, tt.inc, now, cst); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, s := range tt.want {
				if !has(out, s) {
					t.Errorf("record lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(out, s) {
					t.Errorf("record has %q:\n%s", s, out)
				}
			}
			last := -1
			for _, label := range order {
				i := strings.Index(out, label)
				if i <= last {
					t.Errorf("%q missing or out of order:\n%s", label, out)
				}
				last = i
			}
			// Every timeline entry is one line of the handling process.
			process := out[strings.Index(out, "handling process 处置过程:"):strings.Index(out, "result 处置结果")]
			if n := strings.Count(process, "\n") - 1; n != len(tt.inc.Timeline) {
				t.Errorf("%d process lines for %d entries:\n%s", n, len(tt.inc.Timeline), process)
			}
		})
	}
	t.Run("a write error is returned", func(t *testing.T) {
		if err := WriteRecord(failWriter{}, incs[0], now, cst); !errors.Is(err, errWrite) {
			t.Errorf("err %v", err)
		}
	})
}

// has reports whether a record holds s; "label|value" is a field: a line
// starting with the label whose value (after the padding) is exactly value.
func has(out, s string) bool {
	label, value, field := strings.Cut(s, "|")
	if !field {
		return strings.Contains(out, s)
	}
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, label+" "); ok && strings.TrimSpace(rest) == value {
			return true
		}
	}
	return false
}

var errWrite = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestEventLine(t *testing.T) {
	b := Brief{ID: "INC-000001", Key: "server:yz-media-1", State: StateOpen, Class: vocab.ClassPartial, Severity: vocab.SeverityDegraded,
		Cause: vocab.CauseServer, Subject: media1, Summary: "server yz-media-1: latency, saturation (degraded)",
		Rooms: []string{hall1, hall2}, Paging: true, OpenedAt: t0, Deadline: t0.Add(2 * time.Hour)}
	at := t0.Add(62 * time.Second)
	with := func(f func(b *Brief)) Brief {
		c := b
		f(&c)
		return c
	}
	const head = "17:31:02 INC-000001 "
	const subject = "partial server yz-media-1  rooms yz-hall-1,yz-hall-2"
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"opened", Event{Kind: EventOpened, At: at, Actor: Actor, Text: "detected", Incident: b},
			head + "opened       " + subject + "  deadline 11-02 19:30  — server yz-media-1: latency, saturation (degraded)"},
		{"opened, not paged", Event{Kind: EventOpened, At: at, Actor: Actor, Incident: with(func(b *Brief) { b.Paging, b.MutedBy = false, "nightly" })},
			head + "opened       " + subject + "  deadline 11-02 19:30  (not paged: maintenance nightly)  — server yz-media-1: latency, saturation (degraded)"},
		{"opened with no rooms", Event{Kind: EventOpened, At: at, Actor: Actor, Incident: with(func(b *Brief) { b.Rooms = nil })},
			head + "opened       partial server yz-media-1  deadline 11-02 19:30  — server yz-media-1: latency, saturation (degraded)"},
		{"updated", Event{Kind: EventUpdated, At: at, Actor: Actor, Text: "severity degraded → critical", Incident: b},
			head + "updated      " + subject},
		{"acknowledged by a person", Event{Kind: "acknowledged", At: at, Actor: "张工", Text: "acknowledged (确认接单)", Incident: b},
			head + "acknowledged " + subject + "  by 张工"},
		{"a note", Event{Kind: EventNote, At: at, Actor: "张工", Text: "bidders told to refresh", Incident: b},
			head + "note         " + subject + "  by 张工  — bidders told to refresh"},
		{"resolved by a person", Event{Kind: EventResolved, At: at, Actor: "张工", Text: "gateway restarted", Incident: with(func(b *Brief) {
			b.State, b.ResolvedAt, b.Handling = StateResolved, t0.Add(10*time.Minute), 10*time.Minute
		})},
			head + "resolved     " + subject + "  after 10m0s  by 张工  — gateway restarted"},
		{"resolved by the watchdog", Event{Kind: EventResolved, At: at, Actor: Actor, Text: "recovered", Incident: with(func(b *Brief) {
			b.State, b.ResolvedAt, b.Handling = StateResolved, t0.Add(90*time.Second), 90*time.Second
		})},
			head + "resolved     " + subject + "  after 1m30s  — recovered"},
		{"reopened", Event{Kind: EventReopened, At: at, Actor: Actor, Text: "relapse 5m0s after it was resolved", Incident: b},
			head + "reopened     " + subject + "  deadline 11-02 19:30  — relapse 5m0s after it was resolved"},
		{"reclassified by a person", Event{Kind: "reclassified", At: at, Actor: "张工", Text: "partial → major", Incident: with(func(b *Brief) { b.Class, b.Deadline = vocab.ClassMajor, t0.Add(24*time.Hour) })},
			head + "reclassified major   server yz-media-1  rooms yz-hall-1,yz-hall-2  deadline 11-03 17:30  by 张工"},
		{"breached", Event{Kind: EventBreached, At: at, Actor: Actor, Text: "partial deadline passed unresolved", Incident: with(func(b *Brief) { b.Breached = true })},
			head + "breached     " + subject + "  — partial deadline passed unresolved"},
		{"cause refined", Event{Kind: EventCause, At: at, Actor: Actor, Text: "cause refined: room yz-hall-1 → server yz-media-1", Incident: b},
			head + "cause        " + subject + "  — cause refined: room yz-hall-1 → server yz-media-1"},
		{"merged into another", Event{Kind: EventMerged, At: at, Actor: Actor, Text: "merged into INC-000009", Incident: with(func(b *Brief) { b.State, b.MergedInto = StateMerged, "INC-000009" })},
			head + "merged       " + subject + "  into INC-000009  — merged into INC-000009"},
		{"another merged in", Event{Kind: EventMergedIn, At: at, Actor: Actor, Text: "INC-000002 merged in", Incident: b},
			head + "merged_in    " + subject + "  — INC-000002 merged in"},
		{"signed off", Event{Kind: "signed_off", At: at, Actor: "李主任", Text: "signed off", Incident: with(func(b *Brief) { b.State = StateSignedOff })},
			head + "signed_off   " + subject + "  by 李主任"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EventLine(tt.ev, cst); got != tt.want {
				t.Errorf("\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
