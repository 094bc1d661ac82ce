package report

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The period kinds: config.PeriodKinds and KindRange, a run of whole days.
const (
	KindDay     = "day"
	KindWeek    = "week"
	KindMonth   = "month"
	KindQuarter = "quarter"
	KindHalf    = "half"
	KindYear    = "year"
	KindRange   = "range"
)

// Kinds are the calendar period kinds, shortest first.
var Kinds = []string{KindDay, KindWeek, KindMonth, KindQuarter, KindHalf, KindYear}

// MaxRangeYears bounds a range of days.
const MaxRangeYears = 10

// ErrPeriod: a period kind, date or range that cannot be read.
var ErrPeriod = errors.New("bad period")

// Period is a span of the report time zone's calendar: [Start, End), both
// local midnights. Weeks begin on Monday, quarters in January, April, July
// and October, halves in January and July.
type Period struct {
	Kind  string    `json:"kind"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// ParsePeriod returns the period of the given kind that holds the instant
// at, in the calendar of loc.
func ParsePeriod(kind string, at time.Time, loc *time.Location) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	t := at.In(loc)
	y, m, d := t.Date()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, loc) }
	p := Period{Kind: kind}
	switch kind {
	case KindDay:
		p.Start, p.End = day(y, m, d), day(y, m, d+1)
	case KindWeek:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		p.Start, p.End = day(y, m, d-back), day(y, m, d-back+7)
	case KindMonth:
		p.Start, p.End = day(y, m, 1), day(y, m+1, 1)
	case KindQuarter:
		q := (int(m) - 1) / 3 * 3
		p.Start, p.End = day(y, time.Month(q+1), 1), day(y, time.Month(q+4), 1)
	case KindHalf:
		h := (int(m) - 1) / 6 * 6
		p.Start, p.End = day(y, time.Month(h+1), 1), day(y, time.Month(h+7), 1)
	case KindYear:
		p.Start, p.End = day(y, 1, 1), day(y+1, 1, 1)
	default:
		return Period{}, fmt.Errorf("%w: %q is not a period kind: one of %s", ErrPeriod, kind, strings.Join(Kinds, ", "))
	}
	return p, nil
}

// Range returns the period of whole days from the day holding from up to
// (not including) the day holding to, in loc's calendar. to must be after
// from's day.
func Range(from, to time.Time, loc *time.Location) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	start := midnight(from, loc)
	end := midnight(to, loc)
	if end.Before(to.In(loc)) {
		end = end.AddDate(0, 0, 1) // a to inside a day takes that day in
	}
	if !end.After(start) {
		return Period{}, fmt.Errorf("%w: the range ends (%s) before it begins (%s)", ErrPeriod, to.In(loc).Format(time.DateOnly), start.Format(time.DateOnly))
	}
	if end.After(start.AddDate(MaxRangeYears, 0, 0)) {
		return Period{}, fmt.Errorf("%w: a range of at most %d years (roll-ups are kept reports.rollup_retention)", ErrPeriod, MaxRangeYears)
	}
	return Period{Kind: KindRange, Start: start, End: end}, nil
}

// ParseRange reads a range of dates as `--from`/`--to` give them: both days
// included ("2026-11-01", "2026-11-30" is November).
func ParseRange(from, to string, loc *time.Location) (Period, error) {
	f, err := ParseDate(from, loc)
	if err != nil {
		return Period{}, fmt.Errorf("from: %w", err)
	}
	t, err := ParseDate(to, loc)
	if err != nil {
		return Period{}, fmt.Errorf("to: %w", err)
	}
	if t.Before(f) {
		return Period{}, fmt.Errorf("%w: --to %s is before --from %s", ErrPeriod, to, from)
	}
	return Range(f, midnight(t, loc).AddDate(0, 0, 1), loc)
}

// dateLayouts are what ParseDate reads.
var dateLayouts = []string{time.DateOnly, "2006-01", "2006", "20060102"}

// ParseDate reads a date in loc: 2026-12-03, 2026-12 (its first day), 2026
// (its first day), 20261203, or an RFC 3339 instant.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	for _, l := range dateLayouts {
		if len(s) == len(l) {
			if t, err := time.ParseInLocation(l, s, loc); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q is not a date: YYYY-MM-DD (or YYYY-MM, YYYY, an RFC 3339 time)", ErrPeriod, s)
}

func midnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// Prev returns the period before p: the previous one of its kind, or for a
// range the same number of days just before it.
func (p Period) Prev() Period {
	loc := p.Start.Location()
	switch p.Kind {
	case KindRange:
		days := p.Days()
		return Period{Kind: KindRange, Start: p.Start.AddDate(0, 0, -days), End: p.Start}
	case KindDay, KindWeek, KindMonth, KindQuarter, KindHalf, KindYear:
		q, _ := ParsePeriod(p.Kind, p.Start.Add(-time.Nanosecond), loc)
		return q
	}
	return Period{}
}

// Next returns the period after p (for a range, as many days after it).
func (p Period) Next() Period {
	if p.Kind == KindRange {
		days := p.Days()
		return Period{Kind: KindRange, Start: p.End, End: p.End.AddDate(0, 0, days)}
	}
	q, _ := ParsePeriod(p.Kind, p.End, p.Start.Location())
	return q
}

// Days counts the calendar days in p.
func (p Period) Days() int {
	n := 0
	for d := p.Start; d.Before(p.End); d = d.AddDate(0, 0, 1) {
		n++
	}
	return n
}

// DayStarts returns the local midnight of each day in p.
func (p Period) DayStarts() []time.Time {
	var out []time.Time
	for d := p.Start; d.Before(p.End); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

// Contains reports whether t falls in p.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// ID names the period for files and keys: 2026-12-03, 2026-W49, 2026-12,
// 2026-Q4, 2026-H2, 2026, or 2026-11-01_2026-11-30 for a range.
func (p Period) ID() string {
	s := p.Start
	switch p.Kind {
	case KindDay:
		return s.Format(time.DateOnly)
	case KindWeek:
		y, w := s.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	case KindMonth:
		return s.Format("2006-01")
	case KindQuarter:
		return fmt.Sprintf("%d-Q%d", s.Year(), (int(s.Month())-1)/3+1)
	case KindHalf:
		return fmt.Sprintf("%d-H%d", s.Year(), (int(s.Month())-1)/6+1)
	case KindYear:
		return s.Format("2006")
	}
	return s.Format(time.DateOnly) + "_" + p.End.AddDate(0, 0, -1).Format(time.DateOnly)
}

// Name says the period in Chinese: 2026年12月3日, 2026年第49周（12月7日—12月13日）,
// 2026年12月, 2026年第四季度, 2026年上半年, 2026年度, 2026年11月1日—11月30日.
func (p Period) Name() string {
	s := p.Start
	last := p.End.AddDate(0, 0, -1)
	switch p.Kind {
	case KindDay:
		return cnDate(s)
	case KindWeek:
		y, w := s.ISOWeek()
		return fmt.Sprintf("%d年第%d周（%d月%d日—%d月%d日）", y, w, s.Month(), s.Day(), last.Month(), last.Day())
	case KindMonth:
		return fmt.Sprintf("%d年%d月", s.Year(), s.Month())
	case KindQuarter:
		return fmt.Sprintf("%d年第%s季度", s.Year(), []string{"一", "二", "三", "四"}[(int(s.Month())-1)/3])
	case KindHalf:
		return fmt.Sprintf("%d年%s半年", s.Year(), []string{"上", "下"}[(int(s.Month())-1)/6])
	case KindYear:
		return fmt.Sprintf("%d年度", s.Year())
	}
	if s.Year() == last.Year() {
		return fmt.Sprintf("%s—%d月%d日", cnDate(s), last.Month(), last.Day())
	}
	return cnDate(s) + "—" + cnDate(last)
}

// Label is the report's title: the period's name and the report's kind,
// "2026年12月 运维月报".
func (p Period) Label() string {
	return p.Name() + " " + KindChinese(p.Kind)
}

// KindChinese names a report of a period kind: 运维日报, 运维周报, 运维月报,
// 运维季报, 运维半年报, 年度运维报告, 运维报告 (a range).
func KindChinese(kind string) string {
	switch kind {
	case KindDay:
		return "运维日报"
	case KindWeek:
		return "运维周报"
	case KindMonth:
		return "运维月报"
	case KindQuarter:
		return "运维季报"
	case KindHalf:
		return "运维半年报"
	case KindYear:
		return "运维年报"
	}
	return "运维报告"
}

func cnDate(t time.Time) string {
	return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
}

// ValidKind reports whether kind is a calendar period kind.
func ValidKind(kind string) bool { return slices.Contains(Kinds, kind) }

// PeriodFor picks the period a command line asks for: kind and at, where
// at is a date (the period holding it), "today" or "now" (the period under
// way, reported so far), or "" (the last complete period: yesterday's day,
// last week, last month …); or from and to, a range of days, both
// included, when either is given.
func PeriodFor(kind, at, from, to string, now time.Time, loc *time.Location) (Period, error) {
	if from != "" || to != "" {
		if from == "" || to == "" || at != "" {
			return Period{}, fmt.Errorf("%w: a range needs both --from and --to (and no --at)", ErrPeriod)
		}
		return ParseRange(from, to, loc)
	}
	switch at {
	case "":
		cur, err := ParsePeriod(kind, now, loc)
		if err != nil {
			return Period{}, err
		}
		return cur.Prev(), nil
	case "today", "now":
		return ParsePeriod(kind, now, loc)
	}
	t, err := ParseDate(at, loc)
	if err != nil {
		return Period{}, err
	}
	return ParsePeriod(kind, t, loc)
}
