package reportdeliver

import (
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDue(t *testing.T) {
	loc := shanghai(t)
	local := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	all := []config.ReportDelivery{{Periods: config.PeriodKinds, Channels: []string{"mail"}, Scope: "city", After: 30 * time.Minute}}
	tests := []struct {
		name       string
		now        string
		deliveries []config.ReportDelivery
		last       map[string]string
		want       string // "slot=period" of each job, space-joined
	}{
		{
			name: "before after: the period before the one just ended",
			now:  "2026-12-03 00:29", deliveries: all,
			want: "0/day=2026-12-01 0/week=2026-W48 0/month=2026-11 0/quarter=2026-Q3 0/half=2026-H1 0/year=2025",
		},
		{
			name: "after has passed: yesterday",
			now:  "2026-12-03 00:30", deliveries: all,
			want: "0/day=2026-12-02 0/week=2026-W48 0/month=2026-11 0/quarter=2026-Q3 0/half=2026-H1 0/year=2025",
		},
		{
			name: "sent already: nothing",
			now:  "2026-12-03 09:00", deliveries: all,
			last: map[string]string{"0/day": "2026-12-02", "0/week": "2026-W48", "0/month": "2026-11", "0/quarter": "2026-Q3", "0/half": "2026-H1", "0/year": "2025"},
		},
		{
			name: "a year's end: every kind at once",
			now:  "2027-01-01 00:30", deliveries: all,
			last: map[string]string{"0/day": "2026-12-30", "0/week": "2026-W52", "0/month": "2026-11", "0/quarter": "2026-Q3", "0/half": "2026-H1", "0/year": "2025"},
			// 2026-12-28 is the Monday of ISO week 53 of 2026, still under
			// way: the latest week ended is W52, sent already.
			want: "0/day=2026-12-31 0/month=2026-12 0/quarter=2026-Q4 0/half=2026-H2 0/year=2026",
		},
		{
			name: "a week begins on Monday",
			now:  "2026-12-07 01:00", deliveries: []config.ReportDelivery{{Periods: []string{"week"}, After: time.Hour}},
			want: "0/week=2026-W49",
		},
		{
			name: "down for ten days: only the latest day, not ten",
			now:  "2026-12-13 08:00", deliveries: []config.ReportDelivery{{Periods: []string{"day"}, After: 30 * time.Minute}},
			last: map[string]string{"0/day": "2026-12-02"},
			want: "0/day=2026-12-12",
		},
		{
			name: "leap day",
			now:  "2028-03-01 02:00", deliveries: []config.ReportDelivery{{Periods: []string{"day", "month"}, After: time.Hour}},
			want: "0/day=2028-02-29 0/month=2028-02",
		},
		{
			name: "two entries, each its own slot",
			now:  "2026-12-03 09:00",
			deliveries: []config.ReportDelivery{
				{Periods: []string{"day"}, Scope: "sub-center:jd", Channels: []string{"jd-wecom"}},
				{Periods: []string{"day"}, Scope: "city", Channels: []string{"mail"}},
			},
			last: map[string]string{"1/day": "2026-12-02"},
			want: "0/day=2026-12-02",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, j := range Due(local(tc.now), tc.deliveries, loc, tc.last) {
				got = append(got, j.Slot()+"="+j.Period.ID())
				if j.Period.End.After(local(tc.now)) {
					t.Errorf("%s: ends after now", j.Period.ID())
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("Due = %q\nwant  %q", g, tc.want)
			}
		})
	}
}

// TestDueTimeZone: a day is the report time zone's: 00:30 in Shanghai is
// the previous evening in UTC.
func TestDueTimeZone(t *testing.T) {
	now := time.Date(2026, 12, 2, 16, 30, 0, 0, time.UTC) // 2026-12-03 00:30 in Shanghai
	d := []config.ReportDelivery{{Periods: []string{"day"}, After: 30 * time.Minute}}
	if j := Due(now, d, shanghai(t), nil); len(j) != 1 || j[0].Period.ID() != "2026-12-02" {
		t.Errorf("Shanghai: %+v", j)
	}
	if j := Due(now, d, time.UTC, nil); len(j) != 1 || j[0].Period.ID() != "2026-12-01" {
		t.Errorf("UTC: %+v", j)
	}
}

func TestJobNames(t *testing.T) {
	loc := shanghai(t)
	j := Due(time.Date(2026, 12, 3, 9, 0, 0, 0, loc), []config.ReportDelivery{{Periods: []string{"month"}, Scope: "sub-center:jd", Channels: []string{"jd-wecom", "jd-mail"}}}, loc, nil)[0]
	if got := j.Marker(); got != "month:2026-11:sub-center:jd:jd-mail,jd-wecom" {
		t.Errorf("Marker = %q", got)
	}
	if got := j.FileID(); got != "month.2026-11.sub-center-jd" {
		t.Errorf("FileID = %q", got)
	}
	k := j
	k.Channels = []string{"jd-mail", "jd-wecom"}
	if j.MessageID() != k.MessageID() || !strings.HasPrefix(j.MessageID(), "report.month.2026-11.sub-center-jd.") {
		t.Errorf("MessageID %q / %q", j.MessageID(), k.MessageID())
	}
	k.Channels = []string{"jd-mail"}
	if j.MessageID() == k.MessageID() {
		t.Error("another entry's channels, the same message id")
	}
}
