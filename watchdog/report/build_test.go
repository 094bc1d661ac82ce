package report

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

func near(t *testing.T, what string, got Num, want float64) {
	t.Helper()
	if math.IsNaN(want) {
		if got.Valid() {
			t.Errorf("%s = %v, want none", what, float64(got))
		}
		return
	}
	if !got.Valid() || math.Abs(float64(got)-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v, want %v", what, float64(got), want)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// sameBucket checks a percentile read from merged histograms is in the
// bucket of the true value (within 10 %).
func sameBucket(t *testing.T, what string, got Num, truth float64) {
	t.Helper()
	if !got.Valid() || rollup.Bucket(float64(got)) != rollup.Bucket(truth) || math.Abs(float64(got)/truth-1) > 0.1 {
		t.Errorf("%s = %v, want within one bucket of %v", what, float64(got), truth)
	}
}

func TestSyntheticMonth(t *testing.T) {
	src := fixture(t)
	rep, err := Build(context.Background(), src, november(t))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "empty", rep.Empty, false)
	eq(t, "notice", rep.Notice, "")
	eq(t, "title", rep.Title, "2026年11月 运维月报 — 扬州市")
	eq(t, "until", rep.Until.Equal(at(12, 1, 0, 0)), true)
	eq(t, "series step", rep.SeriesStep, "day")
	eq(t, "series points", len(rep.Series), 30)

	// Availability as bidders saw it. Observed: sessions 600+600+400+1000
	// s, patrols 48+1 s = 2649 s; down 60 s (S2); degraded 40 s (S3) + 100
	// s (S4) = 140 s.
	s := rep.Summary
	eq(t, "samples", s.Samples, int64(2649))
	eq(t, "observed", s.ObservedMS, int64(2_649_000))
	eq(t, "down", s.DownMS, int64(60_000))
	eq(t, "degraded", s.DegradedMS, int64(140_000))
	near(t, "availability", s.Availability, 1-60.0/2649)
	near(t, "good share", s.GoodShare, 1-200.0/2649)
	// Round trips of the 2589 connected windows: 900 × 50, 1188 × 100,
	// 361 × 200, 40 × 400, 100 × 1000 ms. Ranks 1295, 2460, 2564 fall on
	// 100, 400 and 1000 ms.
	sameBucket(t, "p50", s.RTTP50, 100)
	sameBucket(t, "p95", s.RTTP95, 400)
	sameBucket(t, "p99", s.RTTP99, 1000)
	near(t, "rtt mean", s.RTTMean, (900*50+1188*100+361*200+40*400+100*1000)/2589.0)
	near(t, "stutter minutes", s.StutterMin, 30*0.5/60) // 30 freezes of 500 ms
	eq(t, "freezes", s.Freezes, int64(30))
	eq(t, "dropouts", s.Dropouts, int64(1))

	// Per room and sub-center.
	room := func(id string) Area {
		i := slices.IndexFunc(rep.Rooms, func(a Area) bool { return a.ID == id })
		if i < 0 {
			t.Fatalf("no room %s", id)
		}
		return rep.Rooms[i]
	}
	eq(t, "rooms", len(rep.Rooms), 4)
	a, b, c := room("zx-h1"), room("zx-h2"), room("gy-h1")
	near(t, "开标一厅 availability", a.Availability, 1-60.0/1248) // 600+600+48 s
	near(t, "开标二厅 availability", b.Availability, 1)
	near(t, "开标二厅 good share", b.GoodShare, 1-40.0/401)
	near(t, "高邮 good share", c.GoodShare, 0.9)
	sameBucket(t, "高邮 p95", c.RTTP95, 1000) // rank 950 of 1000: the 1000 ms windows
	sameBucket(t, "高邮 p50", c.RTTP50, 50)
	eq(t, "开标三厅 observed", room("zx-h3").ObservedMS, int64(0))
	near(t, "开标三厅 availability", room("zx-h3").Availability, math.NaN())
	eq(t, "开标一厅 sessions", a.Sessions, 2)
	eq(t, "高邮 incidents", c.Incidents, 2)
	eq(t, "sub-centers", len(rep.SubCenters), 2)
	zx, gy := rep.SubCenters[0], rep.SubCenters[1]
	eq(t, "zx", zx.ID+" "+zx.Name, "zx 交易中心")
	near(t, "交易中心 availability", zx.Availability, 1-60.0/1649)
	near(t, "交易中心 good share", zx.GoodShare, 1-100.0/1649)
	eq(t, "交易中心 rooms with data", zx.Rooms, 2)
	near(t, "高邮 availability", gy.Availability, 1)
	eq(t, "交易中心 sessions", zx.Sessions, 3)

	// The day series: 10 Nov holds S2 and S3: 1000 s, 60 down.
	day10 := rep.Series[9]
	eq(t, "day 10", day10.At.Equal(at(11, 10, 0, 0)), true)
	near(t, "10 Nov availability", day10.Availability, 0.94)
	near(t, "2 Nov availability", rep.Series[1].Availability, 1)
	near(t, "5 Nov availability", rep.Series[4].Availability, math.NaN())

	// Sessions: S1 ok, S2 disrupted, S3 and S4 degraded; incidents touched
	// S2 (INC-1 opened during it) and S4 (INC-2).
	ss := rep.Sessions
	eq(t, "sessions", ss.Total, 4)
	eq(t, "ok", ss.OK, 1)
	eq(t, "degraded", ss.Degraded, 2)
	eq(t, "disrupted", ss.Disrupted, 1)
	eq(t, "with incident", ss.WithIncident, 2)
	var outcomes []string
	for _, x := range ss.List {
		outcomes = append(outcomes, x.ID+":"+x.Outcome+":"+strings.Join(x.Incidents, ","))
	}
	eq(t, "session list", strings.Join(outcomes, " "), "S1:ok: S2:disrupted:INC-1 S3:degraded: S4:degraded:INC-2")
	near(t, "S2 availability", ss.List[1].Availability, 0.9)

	// Incidents: INC-1, 2, 3, 5 counted (INC-4 merged, the drill apart).
	in := rep.Incidents
	eq(t, "incidents", in.Total, 4)
	eq(t, "drills", in.Drills, 1)
	eq(t, "met", in.Met, 2)
	eq(t, "breached", in.Breached, 2)
	eq(t, "pending", in.Pending, 0)
	near(t, "compliance", in.Compliance, 0.5)
	near(t, "MTTA", in.MTTAS, (600+1800+1200)/3.0)
	near(t, "MTTR", in.MTTRS, (3600+5400+3600)/3.0)
	eq(t, "unacked", in.Unacked, 1)
	eq(t, "unresolved", in.Unresolved, 1)
	byClass := map[vocab.Class]ClassFigures{}
	for _, c := range in.ByClass {
		byClass[c.Class] = c
	}
	minor, partial, outage, major := byClass[vocab.ClassMinor], byClass[vocab.ClassPartial], byClass[vocab.ClassOutage], byClass[vocab.ClassMajor]
	eq(t, "minor count", minor.Count, 2)
	near(t, "minor compliance", minor.Compliance, 0)
	near(t, "minor MTTA", minor.MTTAS, 1800)
	near(t, "minor MTTR", minor.MTTRS, 5400)
	eq(t, "minor deadline", minor.DeadlineS, 3600.0)
	eq(t, "partial count", partial.Count, 1)
	near(t, "partial compliance", partial.Compliance, 1)
	near(t, "partial MTTA", partial.MTTAS, 600)
	near(t, "outage MTTR", outage.MTTRS, 3600)
	eq(t, "major count", major.Count, 0)
	near(t, "major compliance", major.Compliance, math.NaN())
	eq(t, "breaches", len(in.Breaches), 2)
	eq(t, "breach 1", in.Breaches[0].ID+" "+in.Breaches[0].Reason, "INC-2 minor deadline 2026-11-20T11:00:00+08:00 passed unresolved")
	eq(t, "breach 1 result", in.Breaches[0].Result, "更换网卡")
	eq(t, "breach 1 in Chinese", in.Breaches[0].ReasonCN, "一般故障处置时限（2026-11-20 11:00）已过仍未排除")
	eq(t, "breach 2", in.Breaches[1].ID+" "+in.Breaches[1].Reason, "INC-5 not resolved by its minor deadline")

	// Remediation: clear-room verified, restart-media failed.
	rm := rep.Remediation
	eq(t, "attempts", rm.Attempts, 2)
	eq(t, "verified", rm.Verified, 1)
	eq(t, "failed", rm.Failed, 1)
	near(t, "remedy success", rm.Success, 0.5)
	eq(t, "runbooks", len(rm.PerRunbook), 2)
	eq(t, "clear-room", rm.PerRunbook[0].Name+" "+strings.Join(rm.PerRunbook[0].Incidents, ","), "clear-room INC-1")

	// Patrol: 720 hours; 开标一厅 48 (1–2 Nov), gap 672 h from 3 Nov;
	// 开标二厅 1 (15 Nov 12:00), gap 371 h after it; 49 of 4 × 720.
	p := rep.Patrol
	eq(t, "patrol rooms", len(p), 4)
	eq(t, "开标一厅 checked", p[0].Checked, 48)
	eq(t, "hours", p[0].Hours, 720)
	near(t, "开标一厅 coverage", p[0].Coverage, 48.0/720)
	eq(t, "开标一厅 gap", p[0].LongestGapH, 672)
	eq(t, "开标一厅 gap from", p[0].GapFrom.Equal(at(11, 3, 0, 0)), true)
	eq(t, "开标一厅 last", p[0].LastCheck.Equal(at(11, 2, 23, 0)), true)
	eq(t, "开标二厅 gap", p[1].LongestGapH, 371)
	eq(t, "开标二厅 last", p[1].LastCheck.Equal(at(11, 15, 12, 0)), true)
	eq(t, "高邮 checked", p[2].Checked, 0)
	eq(t, "高邮 gap", p[2].LongestGapH, 720)
	near(t, "coverage", s.PatrolCoverage, 49.0/2880)
	eq(t, "开标一厅 1 Nov", p[0].PerPoint[0], 24)
	eq(t, "开标一厅 2 Nov", p[0].PerPoint[1], 24)
	eq(t, "开标一厅 3 Nov", p[0].PerPoint[2], 0)
	eq(t, "开标二厅 15 Nov", p[1].PerPoint[14], 1)

	// Health: CPU 95, 85 (20 Nov) and 40 (21 Nov); 3 checks, 1 failed.
	eq(t, "servers", len(rep.Health), 2)
	h := rep.Health[1]
	eq(t, "server", h.ID, "gy-media-1")
	eq(t, "checks", h.Checks, int64(3))
	eq(t, "failed", h.Failed, int64(1))
	eq(t, "first metric", h.Metrics[0].Name, "cpu_pct")
	near(t, "cpu mean", h.Metrics[0].Mean, (95+85+40)/3.0)
	near(t, "cpu max", h.Metrics[0].Max, 95)
	near(t, "cpu 20 Nov mean", h.Metrics[0].Points[19].Mean, 90)
	near(t, "cpu 21 Nov max", h.Metrics[0].Points[20].Max, 40)
	near(t, "cpu 22 Nov", h.Metrics[0].Points[21].Mean, math.NaN())
	eq(t, "web server has no data", len(rep.Health[0].Metrics), 0)

	// Worst rooms and recurring problems.
	var worst []string
	for _, w := range rep.Worst {
		worst = append(worst, w.ID)
	}
	eq(t, "worst", strings.Join(worst, " "), "gy-h1 zx-h1 zx-h2") // 100, 60, 40 s
	eq(t, "recurring", len(rep.Recurring), 1)
	eq(t, "recurring key", rep.Recurring[0].Key+" "+strings.Join(rep.Recurring[0].IDs, ","), "server:gy-media-1 INC-2,INC-3")
	eq(t, "recurring worst", rep.Recurring[0].Worst, vocab.ClassOutage)
	eq(t, "repeat rooms", len(rep.RepeatRooms), 1)
	eq(t, "repeat room", rep.RepeatRooms[0].Room, "gy-h1")

	// The previous period: October, S0 fine and INC-6.
	pv := rep.Previous
	if pv == nil {
		t.Fatal("no previous period")
	}
	eq(t, "previous", pv.Name, "2026年10月")
	near(t, "prev availability", pv.Summary.Availability, 1)
	eq(t, "prev sessions", pv.Summary.Sessions, 1)
	near(t, "prev MTTA", pv.Summary.MTTAS, 300)
	near(t, "prev MTTR", pv.Summary.MTTRS, 1800)
	change := func(key string) Change {
		i := slices.IndexFunc(pv.Changes, func(c Change) bool { return c.Figure == key })
		if i < 0 {
			t.Fatalf("no change %s", key)
		}
		return pv.Changes[i]
	}
	av := change("availability")
	near(t, "availability change", av.Delta, (1-60.0/2649)*100-100)
	eq(t, "availability worse", av.Worse, true)
	near(t, "incidents change", change("incidents").Delta, 3)
	near(t, "compliance change", change("sla_compliance").Delta, -50)
	near(t, "MTTR change (min)", change("mttr_min").Delta, 4200.0/60-30)
	eq(t, "evidence", rep.Evidence.Head.N, int64(42))
}

func TestScopes(t *testing.T) {
	src := fixture(t)
	req := november(t)
	req.Scope = "sub-center:gy"
	rep, err := Build(context.Background(), src, req)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "title", rep.Title, "2026年11月 运维月报 — 扬州市 · 高邮分中心")
	eq(t, "rooms", len(rep.Rooms), 1)
	eq(t, "sessions", rep.Sessions.Total, 1)
	eq(t, "incidents", rep.Incidents.Total, 2) // INC-2, INC-3
	near(t, "compliance", rep.Incidents.Compliance, 0.5)
	near(t, "good share", rep.Summary.GoodShare, 0.9)
	eq(t, "servers", len(rep.Health), 1)

	req.Scope = "room:zx-h2"
	rep, err = Build(context.Background(), src, req)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "room sessions", rep.Sessions.Total, 1)
	eq(t, "room incidents", rep.Incidents.Total, 1) // INC-5
	eq(t, "room patrol", rep.Summary.PatrolCoverage, Num(1.0/720))
	eq(t, "room prev incidents", rep.Previous.Summary.Incidents, 0)

	for _, bad := range []string{"room:nope", "sub-center:xx", "district:1"} {
		req.Scope = bad
		_, err := Build(context.Background(), src, req)
		var se *ScopeError
		if !errors.Is(err, ErrUnknownScope) || !errors.As(err, &se) {
			t.Fatalf("%s: %v", bad, err)
		}
		t.Logf("%s: %v", bad, err)
	}
	req.Scope = "room:nope"
	_, err = Build(context.Background(), src, req)
	eq(t, "unknown room message", err.Error(), `scope "room:nope": no room is named "nope" (known: zx-h1, zx-h2, gy-h1, zx-h3)`)
}

func TestNothingToReport(t *testing.T) {
	src := fixture(t)
	now := at(12, 5, 0, 0)
	tests := []struct {
		name   string
		period func() Period
		notice string
	}{
		{"empty month", func() Period { p, _ := ParsePeriod(KindMonth, at(6, 1, 0, 0), shanghai); return p }, "该时段内没有监测数据，也没有故障记录"},
		{"future month", func() Period { p, _ := ParsePeriod(KindMonth, at(12, 5, 0, 0).AddDate(0, 1, 0), shanghai); return p }, "该时段尚未开始（2027-01-01 00:00 起）"},
		{"future day", func() Period { p, _ := ParsePeriod(KindDay, now.Add(time.Hour), shanghai); return p }, ""},
		{"this month so far", func() Period { p, _ := ParsePeriod(KindMonth, now, shanghai); return p }, "本时段尚未结束，数据截至 2026-12-05 00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Build(context.Background(), src, Request{Period: tt.period(), Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Empty {
				t.Errorf("not empty: %+v", rep.Summary)
			}
			if !strings.Contains(rep.Notice, tt.notice) || rep.Notice == "" {
				t.Errorf("notice %q, want %q", rep.Notice, tt.notice)
			}
			for name, write := range map[string]func() error{
				"html": func() error { return rep.WriteHTML(&strings.Builder{}) },
				"csv":  func() error { return rep.WriteCSV(&strings.Builder{}) },
				"json": func() error { return rep.WriteJSON(&strings.Builder{}) },
			} {
				if err := write(); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}

func TestDayReportByHour(t *testing.T) {
	src := fixture(t)
	p, _ := ParsePeriod(KindDay, at(11, 20, 12, 0), shanghai)
	rep, err := Build(context.Background(), src, Request{Period: p, Now: at(12, 5, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "step", rep.SeriesStep, "hour")
	eq(t, "points", len(rep.Series), 24)
	near(t, "10:00 good share", rep.Series[10].GoodShare, 0.9)
	eq(t, "sessions", rep.Sessions.Total, 1)
	eq(t, "incidents", rep.Incidents.Total, 1)
	near(t, "cpu at 10:00", rep.Health[1].Metrics[0].Points[10].Mean, 90)
	eq(t, "previous day", rep.Previous.Name, "2026年11月19日")
}
