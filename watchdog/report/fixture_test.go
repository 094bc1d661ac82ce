package report

import (
	"context"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/health"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// The synthetic month: November 2026 in Asia/Shanghai, three rooms with
// data and one without, four sessions, patrols, seven incident records and
// a server's CPU readings. Every figure the tests check is worked out by
// hand in the comments of fixture().

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a Shanghai wall-clock time in 2026.
func at(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, shanghai)
}

// fixtureConfig is the city: the trading center (zx) with two halls and a
// third never probed, and 高邮 (gy) with one.
func fixtureConfig() *config.Config {
	return &config.Config{
		City: config.City{ID: "yz", Name: "扬州市"},
		SubCenters: []config.SubCenter{
			{ID: "zx", Name: "交易中心", Kind: config.KindCenter},
			{ID: "gy", Name: "高邮分中心"},
		},
		Servers: []config.Server{
			{ID: "zx-web-1", Name: "交易系统 Web", Role: config.RoleWeb, SubCenter: "zx"},
			{ID: "gy-media-1", Name: "高邮媒体服务器", Role: config.RoleMedia, SubCenter: "gy"},
		},
		Rooms: []config.Room{
			{ID: "zx-h1", Name: "开标一厅", SubCenter: "zx", Servers: []string{"zx-web-1"}},
			{ID: "zx-h2", Name: "开标二厅", SubCenter: "zx", Servers: []string{"zx-web-1"}},
			{ID: "gy-h1", Name: "高邮开标厅", SubCenter: "gy", Servers: []string{"gy-media-1"}},
			{ID: "zx-h3", Name: "开标三厅", SubCenter: "zx", Servers: []string{"zx-web-1"}},
		},
		Watchdog: config.DefaultWatchdog(),
		Reports:  config.DefaultReports(),
	}
}

// window makes one 1-second Sample.
type window struct {
	connected bool
	rtt       float64
	freezeMS  float64
	dropout   bool
}

// run adds n consecutive windows of a room (a session, or a patrol when
// session is "") starting at start.
func run(m *rollup.Mem, room, session string, start time.Time, n int, w window) time.Time {
	for i := 0; i < n; i++ {
		s := &sample.Sample{
			Probe: "p-zx-1", Location: "zx", Session: session, Room: room, Transport: "ws", Participant: "ws-1",
			Seq: uint64(i), WindowStart: start.Add(time.Duration(i) * time.Second), WindowMS: 1000, Connected: w.connected,
		}
		if w.connected {
			s.ConnectedMS, s.RTTCount, s.RTTMedianMS, s.RTTMaxMS = 1000, 1, w.rtt, w.rtt
		}
		if w.freezeMS > 0 {
			s.FreezeCount, s.FreezeMS = 1, w.freezeMS
		}
		if w.dropout && i == 0 {
			s.Dropouts = 1
		}
		m.Add(s)
	}
	return start.Add(time.Duration(n) * time.Second)
}

// incidents is a fixed list standing in for the store.
type incidents []incident.Incident

func (l incidents) List(_ context.Context, f incident.Filter) ([]incident.Incident, error) {
	var out []incident.Incident
	for _, inc := range l {
		if (f.From.IsZero() || !inc.OpenedAt.Before(f.From)) && (f.To.IsZero() || inc.OpenedAt.Before(f.To)) {
			out = append(out, inc)
		}
	}
	return out, nil
}

func fixture(t testing.TB) Sources {
	t.Helper()
	m := rollup.NewMem(rollup.Thresholds{DegradedRTT: 300 * time.Millisecond}, shanghai)
	ok := func(rtt float64) window { return window{connected: true, rtt: rtt} }

	// S1, 开标一厅, 3 Nov 09:00: 600 s fine at 100 ms → ok.
	run(m, "zx-h1", "S1", at(11, 3, 9, 0), 600, ok(100))
	// S2, 开标一厅, 10 Nov 09:00: 540 s at 100 ms, then 60 s down with one
	// dropout → down 60 s of 600 (10 % > 1 %) → disrupted.
	next := run(m, "zx-h1", "S2", at(11, 10, 9, 0), 540, ok(100))
	run(m, "zx-h1", "S2", next, 60, window{dropout: true})
	// S3, 开标二厅, 10 Nov 14:00: 360 s at 200 ms, 40 s at 400 ms (over the
	// 300 ms threshold: degraded) → 10 % degraded > 5 % → degraded.
	next = run(m, "zx-h2", "S3", at(11, 10, 14, 0), 360, ok(200))
	run(m, "zx-h2", "S3", next, 40, ok(400))
	// S4, 高邮开标厅, 20 Nov 10:00: 900 s at 50 ms; 100 s at 1000 ms, 30 of
	// them with a 500 ms freeze → degraded 100 s (10 %), stutter 15 s.
	next = run(m, "gy-h1", "S4", at(11, 20, 10, 0), 900, ok(50))
	next = run(m, "gy-h1", "S4", next, 70, ok(1000))
	run(m, "gy-h1", "S4", next, 30, window{connected: true, rtt: 1000, freezeMS: 500})
	// Patrols: 开标一厅 every hour of 1–2 Nov (48 windows at 100 ms);
	// 开标二厅 once, 15 Nov 12:30 (200 ms).
	for h := 0; h < 48; h++ {
		run(m, "zx-h1", "", at(11, 1, 0, 30).Add(time.Duration(h)*time.Hour), 1, ok(100))
	}
	run(m, "zx-h2", "", at(11, 15, 12, 30), 1, ok(200))
	// October (the previous period): S0, 开标一厅, 100 s fine.
	run(m, "zx-h1", "S0", at(10, 20, 9, 0), 100, ok(100))
	// Health: 高邮媒体服务器's CPU 95 and 85 on 20 Nov (one check failed),
	// 40 on 21 Nov.
	for _, r := range []struct {
		at  time.Time
		cpu float64
		ok  bool
	}{{at(11, 20, 10, 0), 95, false}, {at(11, 20, 10, 1), 85, true}, {at(11, 21, 9, 0), 40, true}} {
		m.AddReading(health.Reading{Server: "gy-media-1", Check: "prometheus[0]", Kind: "prometheus", At: r.at, OK: r.ok,
			LatencyMS: 20, Values: map[string]float64{"cpu_pct": r.cpu}})
	}

	entry := func(t time.Time, actor, kind, text string) incident.Entry {
		return incident.Entry{At: t, Actor: actor, Kind: kind, Text: text}
	}
	list := incidents{
		// I1 partial on 开标一厅: acked in 10 min, resolved in 60 (deadline
		// 2 h) → met; a runbook verified.
		{ID: "INC-1", Key: "room:zx-h1", State: incident.StateResolved, Cause: vocab.CauseRoom, Subject: "zx-h1", Class: vocab.ClassPartial,
			Place:    incident.Place{SubCenters: []string{"zx"}, Rooms: []string{"zx-h1"}},
			OpenedAt: at(11, 10, 9, 5), AcknowledgedAt: at(11, 10, 9, 15), ResolvedAt: at(11, 10, 10, 5), Deadline: at(11, 10, 11, 5),
			Phenomenon: incident.Phenomenon{Summary: "开标一厅 断线"},
			Timeline: []incident.Entry{
				entry(at(11, 10, 9, 6), "runbook clear-room", "remedy", "started on room:zx-h1: 1 steps, then verify within 1m0s"),
				entry(at(11, 10, 9, 7), "runbook clear-room", "mitigated", "verified: the probes see the symptoms gone 40s after the runbook started"),
			}},
		// I2 minor on the 高邮 media server: acked in 30 min, resolved in
		// 90 (deadline 1 h) → breached; a runbook failed.
		{ID: "INC-2", Key: "server:gy-media-1", State: incident.StateSignedOff, Cause: vocab.CauseServer, Subject: "gy-media-1", Class: vocab.ClassMinor,
			Place:    incident.Place{SubCenters: []string{"gy"}, Rooms: []string{"gy-h1"}, Servers: []string{"gy-media-1"}},
			OpenedAt: at(11, 20, 10, 0), AcknowledgedAt: at(11, 20, 10, 30), ResolvedAt: at(11, 20, 11, 30), Deadline: at(11, 20, 11, 0),
			Breached: true, BreachedAt: at(11, 20, 11, 0), Result: "更换网卡",
			Phenomenon: incident.Phenomenon{Summary: "高邮开标厅 延时"},
			Timeline: []incident.Entry{
				entry(at(11, 20, 10, 1), "runbook restart-media", "remedy", "started on server:gy-media-1: 1 steps, then verify within 1m0s"),
				entry(at(11, 20, 10, 3), "runbook restart-media", "remedy", "failed: not verified within 1m0s; escalated"),
				entry(at(11, 20, 11, 0), "watchdog", "breached", "minor deadline 2026-11-20T11:00:00+08:00 passed unresolved"),
			}},
		// I3 outage, the same server again: acked in 20 min, resolved in 60
		// (deadline 4 h) → met.
		{ID: "INC-3", Key: "server:gy-media-1", State: incident.StateResolved, Cause: vocab.CauseServer, Subject: "gy-media-1", Class: vocab.ClassOutage,
			Place:    incident.Place{SubCenters: []string{"gy"}, Rooms: []string{"gy-h1"}, Servers: []string{"gy-media-1"}},
			OpenedAt: at(11, 25, 8, 0), AcknowledgedAt: at(11, 25, 8, 20), ResolvedAt: at(11, 25, 9, 0), Deadline: at(11, 25, 12, 0),
			MergedFrom: []string{"INC-4"}},
		// I4 merged into I3: counted there, not again.
		{ID: "INC-4", Key: "room:gy-h1", State: incident.StateMerged, MergedInto: "INC-3", Class: vocab.ClassMinor,
			Place:    incident.Place{SubCenters: []string{"gy"}, Rooms: []string{"gy-h1"}},
			OpenedAt: at(11, 25, 7, 59), Deadline: at(11, 25, 8, 59)},
		// I5 minor on 开标二厅, never acknowledged nor resolved: its 1 h
		// deadline passed before the report → breached, unacked, unresolved.
		{ID: "INC-5", Key: "room:zx-h2", State: incident.StateOpen, Cause: vocab.CauseRoom, Subject: "zx-h2", Class: vocab.ClassMinor,
			Place:    incident.Place{SubCenters: []string{"zx"}, Rooms: []string{"zx-h2"}},
			OpenedAt: at(11, 28, 14, 0), Deadline: at(11, 28, 15, 0)},
		// I6 in October: acked in 5 min, resolved in 30 → the previous
		// period: MTTA 300 s, MTTR 1800 s, compliance 100 %.
		{ID: "INC-6", Key: "room:zx-h1", State: incident.StateResolved, Cause: vocab.CauseRoom, Subject: "zx-h1", Class: vocab.ClassMinor,
			Place:    incident.Place{SubCenters: []string{"zx"}, Rooms: []string{"zx-h1"}},
			OpenedAt: at(10, 15, 9, 0), AcknowledgedAt: at(10, 15, 9, 5), ResolvedAt: at(10, 15, 9, 30), Deadline: at(10, 15, 10, 0)},
		// A drill's incident: kept out of the figures.
		{ID: "DRILL-1", Key: "room:zx-h1", State: incident.StateResolved, Cause: vocab.CauseRoom, Subject: "zx-h1", Class: vocab.ClassOutage,
			Place:    incident.Place{SubCenters: []string{"zx"}, Rooms: []string{"zx-h1"}},
			OpenedAt: at(11, 12, 9, 0), AcknowledgedAt: at(11, 12, 10, 0), ResolvedAt: at(11, 13, 9, 0), Deadline: at(11, 12, 13, 0), Breached: true},
	}
	return Sources{
		Config: fixtureConfig(), Rollups: m, Incidents: list,
		IsDrill: func(inc *incident.Incident) bool { return inc.ID == "DRILL-1" },
		EvidenceHead: func(context.Context) (Evidence, error) {
			return Evidence{Head: EvidenceHead{N: 42, Hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}, nil
		},
	}
}

// november is the fixture's period, reported on 5 December.
func november(t testing.TB) Request {
	t.Helper()
	p, err := ParsePeriod(KindMonth, at(11, 15, 0, 0), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return Request{Period: p, Scope: "city", Now: at(12, 5, 0, 0)}
}
