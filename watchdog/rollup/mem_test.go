package rollup

import (
	"context"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/health"
)

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skipf("no tz data: %v", err)
	}
	return loc
}

// smp is a one-second Sample of room r seen from location loc.
func smp(at time.Time, session, room, loc string, tr sample.Transport, rtt float64) *sample.Sample {
	return &sample.Sample{
		Probe: "p-" + loc, Location: loc, Session: session, Room: room, Transport: tr, Participant: "x", Seq: 1,
		WindowStart: at, WindowMS: 1000, Connected: true, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: rtt,
	}
}

func TestMemDayBoundaryShanghai(t *testing.T) {
	loc := shanghai(t)
	m := NewMem(Thresholds{DegradedRTT: 300 * time.Millisecond}, loc)
	// 23:59:59 and 00:00:00 Shanghai time: two days, and UTC hours 15 and 16.
	day1 := time.Date(2026, 3, 1, 0, 0, 0, 0, loc)
	day2 := day1.AddDate(0, 0, 1)
	m.Add(smp(day2.Add(-time.Second), "S1", "r1", "yz", sample.TransportWS, 10))
	m.Add(smp(day2, "S1", "r1", "yz", sample.TransportWS, 500))
	m.Add(smp(day2.Add(time.Second), "", "r1", "yz", sample.TransportWS, 20))

	got := map[time.Time]Stats{}
	if err := m.Daily(context.Background(), loc, day1, day2.AddDate(0, 0, 1), func(r Row) error {
		if r.Span != 24*time.Hour {
			t.Errorf("span %s", r.Span)
		}
		got[r.Start] = r.Stats
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[day1].Samples != 1 || got[day2].Samples != 2 {
		t.Fatalf("days: %+v", got)
	}
	if got[day2].DegradedMS != 1000 || got[day2].PatrolMS != 1000 || got[day2].SessionMS != 1000 {
		t.Errorf("day 2: %+v", got[day2])
	}
	hours := 0
	_ = m.Hourly(context.Background(), day1, day2.AddDate(0, 0, 1), func(r Row) error {
		hours++
		if r.Start.Location() != time.UTC || r.Start.Minute() != 0 {
			t.Errorf("hour start %s", r.Start)
		}
		return nil
	})
	if hours != 2 {
		t.Errorf("%d hours, want 2", hours)
	}
	var sess []SessionRow
	_ = m.Sessions(context.Background(), day1, day2.AddDate(0, 0, 1), func(r SessionRow) error { sess = append(sess, r); return nil })
	if len(sess) != 1 || sess[0].Session != "S1" || sess[0].Stats.Samples != 2 || sess[0].Stats.PatrolMS != 0 {
		t.Errorf("sessions: %+v", sess)
	}
}

func TestMemHealth(t *testing.T) {
	m := NewMem(Thresholds{}, time.UTC)
	at := time.Date(2026, 3, 1, 10, 15, 0, 0, time.UTC)
	m.AddReading(health.Reading{Server: "db", Check: "prometheus[0]", At: at, OK: true, LatencyMS: 12, Values: map[string]float64{"cpu_pct": 40}})
	m.AddReading(health.Reading{Server: "db", Check: "prometheus[0]", At: at.Add(time.Minute), OK: false, LatencyMS: 30, Values: map[string]float64{"cpu_pct": 90}})
	rows := map[string]HealthRow{}
	_ = m.Health(context.Background(), at.Truncate(time.Hour), at.Add(time.Hour), func(r HealthRow) error { rows[r.Metric] = r; return nil })
	c, cpu := rows[""], rows["cpu_pct"]
	if c.Checks != 2 || c.Failed != 1 || c.N != 2 || c.Min != 12 || c.Max != 30 || c.Mean() != 21 {
		t.Errorf("check row %+v", c)
	}
	if cpu.Checks != 0 || cpu.N != 2 || cpu.Min != 40 || cpu.Max != 90 || cpu.Sum != 130 || !cpu.Start.Equal(at.Truncate(time.Hour)) {
		t.Errorf("cpu row %+v", cpu)
	}
}
