package dispatch

import (
	"slices"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// rosterCity is the demo city with a roster for jd: at level 0 a weekday
// day shift (zhang), an every-night shift over midnight (li), a weekend day
// shift (wang) and a Friday-night shift over midnight (zhao); at level 1 the
// director all day. gy has one shift on "fri-mon", a range over the week's
// end. Nothing here is ever contacted.
func rosterCity(t testing.TB, zone string) *config.Config {
	t.Helper()
	c := config.DemoCity()
	d := &c.Dispatch
	d.TimeZone = zone
	d.Channels = []config.Channel{
		{Name: "jd-hook", Type: "webhook", URL: "http://127.0.0.1:9/jd", StartTLS: true},
		{Name: "li-hook", Type: "webhook", URL: "http://127.0.0.1:9/li", StartTLS: true},
	}
	d.People = []config.Person{
		{ID: "zhang", Name: "张工"}, {ID: "li", Name: "李工", Channels: []string{"li-hook", "jd-hook"}},
		{ID: "wang", Name: "王工"}, {ID: "zhao", Name: "赵工"}, {ID: "boss", Name: "分中心主任"}, {ID: "gy-a", Name: "高邮值班"},
	}
	d.Roster = []config.Roster{
		{SubCenter: "jd", Levels: []config.Level{
			{Name: "值班员", Channels: []string{"jd-hook"}, Shifts: []config.Shift{
				{Days: "mon-fri", From: "08:30", To: "17:30", People: []string{"zhang"}},
				{Days: "all", From: "17:30", To: "08:30", People: []string{"li"}},
				{Days: "sat,sun", From: "08:30", To: "17:30", People: []string{"wang"}},
				{Days: "fri", From: "22:00", To: "06:00", People: []string{"zhao"}},
			}},
			{Name: "主任", Channels: []string{"jd-hook"}, Shifts: []config.Shift{{Days: "all", From: "00:00", To: "24:00", People: []string{"boss"}}}},
		}},
		{SubCenter: "gy", Levels: []config.Level{
			{Name: "值班员", Channels: []string{"jd-hook"}, Shifts: []config.Shift{{Days: "fri-mon", From: "10:00", To: "12:00", People: []string{"gy-a"}}}},
		}},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRosterOnDuty(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-03-02 is a Monday; 03-06 a Friday.
	at := func(day, hh, mm int) time.Time { return time.Date(2026, 3, day, hh, mm, 0, 0, sh) }
	jd0, jd1, gy0 := Receiver{SubCenter: "jd"}, Receiver{SubCenter: "jd", Level: 1}, Receiver{SubCenter: "gy"}
	tests := []struct {
		name string
		zone string
		rc   Receiver
		t    time.Time
		want []string
	}{
		{"weekday day shift", "Asia/Shanghai", jd0, at(2, 9, 0), []string{"zhang"}},
		{"Monday 08:29 is still Sunday night's shift", "Asia/Shanghai", jd0, at(2, 8, 29), []string{"li"}},
		{"a shift starts at its from", "Asia/Shanghai", jd0, at(2, 8, 30), []string{"zhang"}},
		{"a shift ends before its to", "Asia/Shanghai", jd0, at(2, 17, 29), []string{"zhang"}},
		{"night shift from 17:30", "Asia/Shanghai", jd0, at(2, 17, 30), []string{"li"}},
		{"Friday 23:00: two night shifts, roster order", "Asia/Shanghai", jd0, at(6, 23, 0), []string{"li", "zhao"}},
		{"Saturday 03:00 belongs to Friday's shift", "Asia/Shanghai", jd0, at(7, 3, 0), []string{"li", "zhao"}},
		{"Friday 03:00 belongs to Thursday: no Friday-night shift yet", "Asia/Shanghai", jd0, at(6, 3, 0), []string{"li"}},
		{"Saturday 06:00: the Friday-night shift is over", "Asia/Shanghai", jd0, at(7, 6, 0), []string{"li"}},
		{"Sunday 03:00: Saturday is not a Friday", "Asia/Shanghai", jd0, at(8, 3, 0), []string{"li"}},
		{"weekend day shift, Saturday", "Asia/Shanghai", jd0, at(7, 10, 0), []string{"wang"}},
		{"weekend day shift, Sunday", "Asia/Shanghai", jd0, at(8, 17, 29), []string{"wang"}},
		{"00:00-24:00 at midnight", "Asia/Shanghai", jd1, at(3, 0, 0), []string{"boss"}},
		{"00:00-24:00 at 23:59", "Asia/Shanghai", jd1, at(3, 23, 59), []string{"boss"}},
		{"fri-mon wraps the week: Sunday", "Asia/Shanghai", gy0, at(8, 11, 0), []string{"gy-a"}},
		{"fri-mon wraps the week: Monday", "Asia/Shanghai", gy0, at(2, 11, 0), []string{"gy-a"}},
		{"fri-mon wraps the week: not Tuesday", "Asia/Shanghai", gy0, at(3, 11, 0), nil},
		{"fri-mon wraps the week: not Thursday", "Asia/Shanghai", gy0, at(5, 11, 0), nil},
		{"an instant in UTC is read in the roster's zone", "Asia/Shanghai", jd0, time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), []string{"zhang"}},
		{"an instant in UTC just before 08:30 Shanghai", "Asia/Shanghai", jd0, time.Date(2026, 3, 2, 0, 29, 0, 0, time.UTC), []string{"li"}},
		{"the same instant with the roster in UTC: night", "UTC", jd0, time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), []string{"li"}},
		{"the roster in UTC, 09:00 UTC", "UTC", jd0, at(2, 17, 0), []string{"zhang"}}, // 17:00 Shanghai = 09:00 UTC
		{"no such level", "Asia/Shanghai", Receiver{SubCenter: "jd", Level: 2}, at(2, 9, 0), nil},
		{"no roster", "Asia/Shanghai", Receiver{SubCenter: "by"}, at(2, 9, 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRoster(rosterCity(t, tt.zone))
			var got []string
			for _, p := range r.OnDuty(tt.rc, tt.t) {
				got = append(got, p.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("OnDuty(%s, %s) = %v, want %v", tt.rc.Key(), tt.t.In(r.loc).Format("Mon 15:04 MST"), got, tt.want)
			}
		})
	}
}

// TestRosterChannels: a level's own channels, then those of the people on
// duty, each once.
func TestRosterChannels(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	r := NewRoster(rosterCity(t, "Asia/Shanghai"))
	tests := []struct {
		name string
		t    time.Time
		want []string
	}{
		{"day: the group only", time.Date(2026, 3, 2, 9, 0, 0, 0, sh), []string{"jd-hook"}},
		{"night: li's own channel too, jd-hook once", time.Date(2026, 3, 2, 18, 0, 0, 0, sh), []string{"jd-hook", "li-hook"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Channels(Receiver{SubCenter: "jd"}, tt.t); !slices.Equal(got, tt.want) {
				t.Errorf("Channels = %v, want %v", got, tt.want)
			}
		})
	}
	if got := r.Name(Receiver{SubCenter: "jd", Level: 1}); got != "江都区分中心 · 主任" {
		t.Errorf("Name = %q", got)
	}
}
