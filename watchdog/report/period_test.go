package report

import (
	"errors"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParsePeriodEdges(t *testing.T) {
	sh := mustLoc(t, "Asia/Shanghai")
	tests := []struct {
		kind       string
		at         string // RFC 3339
		loc        *time.Location
		start, end string // local dates
		id, name   string
	}{
		// Month end: the last instant of January is January; Shanghai's
		// midnight is 16:00 UTC the day before.
		{"month", "2027-01-31T23:59:59+08:00", sh, "2027-01-01", "2027-02-01", "2027-01", "2027年1月"},
		{"month", "2027-01-31T16:00:00Z", sh, "2027-02-01", "2027-03-01", "2027-02", "2027年2月"},
		{"month", "2027-01-31T16:00:00Z", time.UTC, "2027-01-01", "2027-02-01", "2027-01", "2027年1月"},
		{"month", "2028-02-15T00:00:00+08:00", sh, "2028-02-01", "2028-03-01", "2028-02", "2028年2月"},
		// The leap day.
		{"day", "2028-02-29T00:00:00+08:00", sh, "2028-02-29", "2028-03-01", "2028-02-29", "2028年2月29日"},
		{"day", "2028-02-28T23:59:59+08:00", sh, "2028-02-28", "2028-02-29", "2028-02-28", "2028年2月28日"},
		{"day", "2028-02-29T16:00:00Z", sh, "2028-03-01", "2028-03-02", "2028-03-01", "2028年3月1日"},
		// Year end.
		{"day", "2026-12-31T23:59:59+08:00", sh, "2026-12-31", "2027-01-01", "2026-12-31", "2026年12月31日"},
		{"year", "2026-12-31T16:00:00Z", sh, "2027-01-01", "2028-01-01", "2027", "2027年度"},
		{"year", "2026-12-31T16:00:00Z", time.UTC, "2026-01-01", "2027-01-01", "2026", "2026年度"},
		// Weeks start on Monday; one across a year end (ISO week 53 of 2026).
		{"week", "2026-12-31T12:00:00+08:00", sh, "2026-12-28", "2027-01-04", "2026-W53", "2026年第53周（12月28日—1月3日）"},
		{"week", "2027-01-03T23:59:59+08:00", sh, "2026-12-28", "2027-01-04", "2026-W53", "2026年第53周（12月28日—1月3日）"},
		{"week", "2027-01-04T00:00:00+08:00", sh, "2027-01-04", "2027-01-11", "2027-W01", "2027年第1周（1月4日—1月10日）"},
		{"week", "2026-12-06T23:00:00+08:00", sh, "2026-11-30", "2026-12-07", "2026-W49", "2026年第49周（11月30日—12月6日）"},
		// Quarters and halves.
		{"quarter", "2026-03-31T23:59:59+08:00", sh, "2026-01-01", "2026-04-01", "2026-Q1", "2026年第一季度"},
		{"quarter", "2026-04-01T00:00:00+08:00", sh, "2026-04-01", "2026-07-01", "2026-Q2", "2026年第二季度"},
		{"quarter", "2026-12-31T12:00:00+08:00", sh, "2026-10-01", "2027-01-01", "2026-Q4", "2026年第四季度"},
		{"half", "2026-06-30T23:59:59+08:00", sh, "2026-01-01", "2026-07-01", "2026-H1", "2026年上半年"},
		{"half", "2026-06-30T16:00:00Z", sh, "2026-07-01", "2027-01-01", "2026-H2", "2026年下半年"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.at+" "+tt.loc.String(), func(t *testing.T) {
			at, err := time.Parse(time.RFC3339, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParsePeriod(tt.kind, at, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Start.Format(time.DateOnly); got != tt.start || p.Start.Hour() != 0 || p.Start.Location() != tt.loc {
				t.Errorf("start %s, want %s midnight in %s", p.Start, tt.start, tt.loc)
			}
			if got := p.End.Format(time.DateOnly); got != tt.end || p.End.Hour() != 0 {
				t.Errorf("end %s, want %s", p.End, tt.end)
			}
			if !p.Contains(at) {
				t.Errorf("%v does not contain %s", p, at)
			}
			if p.ID() != tt.id || p.Name() != tt.name {
				t.Errorf("id %q name %q, want %q %q", p.ID(), p.Name(), tt.id, tt.name)
			}
			// Prev and Next tile the calendar.
			if prev := p.Prev(); !prev.End.Equal(p.Start) || prev.Kind != p.Kind || !prev.Next().Start.Equal(p.Start) {
				t.Errorf("prev %v does not end where %v begins", prev, p)
			}
			if next := p.Next(); !next.Start.Equal(p.End) {
				t.Errorf("next %v does not begin where %v ends", next, p)
			}
		})
	}
}

func TestPrevAcrossEdges(t *testing.T) {
	sh := mustLoc(t, "Asia/Shanghai")
	at := func(s string) time.Time { x, _ := time.ParseInLocation(time.DateOnly, s, sh); return x }
	tests := []struct {
		kind, at, prevStart, prevEnd string
	}{
		{"day", "2027-01-01", "2026-12-31", "2027-01-01"},
		{"day", "2028-03-01", "2028-02-29", "2028-03-01"},
		{"week", "2027-01-06", "2026-12-28", "2027-01-04"},
		{"month", "2028-03-31", "2028-02-01", "2028-03-01"},
		{"month", "2027-01-15", "2026-12-01", "2027-01-01"},
		{"quarter", "2027-02-01", "2026-10-01", "2027-01-01"},
		{"half", "2027-01-01", "2026-07-01", "2027-01-01"},
		{"year", "2028-02-29", "2027-01-01", "2028-01-01"},
	}
	for _, tt := range tests {
		p, err := ParsePeriod(tt.kind, at(tt.at), sh)
		if err != nil {
			t.Fatal(err)
		}
		prev := p.Prev()
		if prev.Start.Format(time.DateOnly) != tt.prevStart || prev.End.Format(time.DateOnly) != tt.prevEnd {
			t.Errorf("%s %s: prev %s – %s, want %s – %s", tt.kind, tt.at, prev.Start, prev.End, tt.prevStart, tt.prevEnd)
		}
	}
}

func TestRangeAndDates(t *testing.T) {
	sh := mustLoc(t, "Asia/Shanghai")
	p, err := ParseRange("2028-02-01", "2028-02-29", sh)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindRange || p.Days() != 29 || p.Start.Format(time.DateOnly) != "2028-02-01" || p.End.Format(time.DateOnly) != "2028-03-01" {
		t.Errorf("range %+v (%d days)", p, p.Days())
	}
	if p.ID() != "2028-02-01_2028-02-29" || p.Name() != "2028年2月1日—2月29日" {
		t.Errorf("id %q name %q", p.ID(), p.Name())
	}
	if prev := p.Prev(); prev.Start.Format(time.DateOnly) != "2028-01-03" || !prev.End.Equal(p.Start) {
		t.Errorf("prev %+v", prev)
	}
	p, err = ParseRange("2026-12-30", "2027-01-02", sh)
	if err != nil || p.Days() != 4 || p.Name() != "2026年12月30日—2027年1月2日" {
		t.Errorf("across a year end: %+v %q %v", p, p.Name(), err)
	}
	if _, err := ParseRange("2001-01-01", "2026-12-01", sh); !errors.Is(err, ErrPeriod) {
		t.Errorf("25 years: %v", err)
	}
	if _, err := ParseRange("2026-12-05", "2026-12-01", sh); !errors.Is(err, ErrPeriod) {
		t.Errorf("backwards range: %v", err)
	}
	for _, bad := range []string{"", "2026-13-01", "2026-02-30", "yesterday", "2026/12/01"} {
		if _, err := ParseDate(bad, sh); !errors.Is(err, ErrPeriod) {
			t.Errorf("ParseDate(%q): %v", bad, err)
		}
	}
	for in, want := range map[string]string{
		"2026-12-03": "2026-12-03T00:00:00+08:00", "2026-12": "2026-12-01T00:00:00+08:00", "2026": "2026-01-01T00:00:00+08:00",
		"20261203": "2026-12-03T00:00:00+08:00", "2026-12-03T01:00:00Z": "2026-12-03T09:00:00+08:00",
	} {
		got, err := ParseDate(in, sh)
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("ParseDate(%q) = %s, %v; want %s", in, got.Format(time.RFC3339), err, want)
		}
	}
	if _, err := ParsePeriod("fortnight", time.Now(), sh); !errors.Is(err, ErrPeriod) {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestLabels(t *testing.T) {
	sh := mustLoc(t, "Asia/Shanghai")
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, sh)
	want := map[string]string{
		"day": "2026年12月3日 运维日报", "week": "2026年第49周（11月30日—12月6日） 运维周报", "month": "2026年12月 运维月报",
		"quarter": "2026年第四季度 运维季报", "half": "2026年下半年 运维半年报", "year": "2026年度 运维年报",
	}
	for _, k := range Kinds {
		p, _ := ParsePeriod(k, at, sh)
		if p.Label() != want[k] {
			t.Errorf("%s: %q, want %q", k, p.Label(), want[k])
		}
	}
}

func TestPeriodFor(t *testing.T) {
	sh := mustLoc(t, "Asia/Shanghai")
	now := time.Date(2027, 1, 1, 0, 30, 0, 0, sh) // just after a year ended
	tests := []struct {
		kind, at, from, to string
		want               string // ID
		err                bool
	}{
		{kind: "month", want: "2026-12"},
		{kind: "day", want: "2026-12-31"},
		{kind: "week", want: "2026-W52"},
		{kind: "year", want: "2026"},
		{kind: "quarter", at: "today", want: "2027-Q1"},
		{kind: "month", at: "now", want: "2027-01"},
		{kind: "half", at: "2028-02-29", want: "2028-H1"},
		{kind: "month", from: "2026-11-01", to: "2026-11-15", want: "2026-11-01_2026-11-15"},
		{kind: "month", from: "2026-11-01", err: true},
		{kind: "month", at: "2026-11-01", from: "2026-11-01", to: "2026-11-02", err: true},
		{kind: "month", at: "last tuesday", err: true},
		{kind: "decade", err: true},
	}
	for _, tt := range tests {
		p, err := PeriodFor(tt.kind, tt.at, tt.from, tt.to, now, sh)
		if (err != nil) != tt.err || (err == nil && p.ID() != tt.want) {
			t.Errorf("%+v: %s, %v", tt, p.ID(), err)
		}
	}
}
