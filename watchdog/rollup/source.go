package rollup

import (
	"context"
	"time"
)

// Key names under the bus prefix that roll-ups and the raw archive use.
// Hours are UTC hours written YYYYMMDDHH; days are days of the configured
// report time zone, written YYYYMMDD.
const (
	// KeyRaw + "<room>:<YYYYMMDDHH>" is a LIST of the Samples whose window
	// started in that hour, each exactly as its stream entry carried it
	// (the JSON of bus.FieldSample), in the order the watchdog acknowledged
	// them; it expires reports.raw_retention after its hour. The evidence
	// seal digests these bytes.
	KeyRaw = "raw:"
	// KeySessions is a ZSET of the sessions seen (session id, score = the
	// first window's start in Unix ms); KeySession + "<id>" holds that
	// session's roll-up per Dim and its room (see Store).
	KeySessions = "ru:sessions"
	KeySession  = "ru:s:"
)

// Row is the roll-up of one Dim over one span: an hour (Span = 1 h, Start
// a UTC hour) or a day of the report time zone (Start its local midnight,
// Span 23–25 h).
type Row struct {
	Dim   Dim
	Start time.Time
	Span  time.Duration
	Stats Stats
}

// SessionRow is the roll-up of one session (a bid opening, or an ad-hoc
// "probe now") for one Dim.
type SessionRow struct {
	Session string
	Dim     Dim
	Stats   Stats
}

// HealthRow is the roll-up of one health check of one server over an hour
// (UTC): for Metric "" (the check itself) the checks made and failed and
// their latency's count, sum, minimum and maximum in ms; for a named value
// of the check (cpu_pct, db_conns_pct, …) that value's count, sum, minimum
// and maximum, with Checks and Failed zero (they are counted once, on the
// check's own row).
type HealthRow struct {
	Server string
	// Check names the check within the server ("http[0]"), as
	// health.Reading.Check does.
	Check  string
	Metric string
	Start  time.Time
	Checks int64
	Failed int64
	N      int64
	Sum    float64
	Min    float64
	Max    float64
}

// Reader reads roll-ups back for reports. Each method calls fn once per row,
// in no particular order, so a year's report merges as it reads and never
// holds every row at once; fn's error stops the read and is returned.
type Reader interface {
	// Hourly visits the hourly roll-ups of the UTC hours in [from, to).
	Hourly(ctx context.Context, from, to time.Time, fn func(Row) error) error
	// Daily visits the daily roll-ups of the days in [from, to) of loc
	// (from and to are midnights in loc); a day not yet packed is summed
	// from its hours.
	Daily(ctx context.Context, loc *time.Location, from, to time.Time, fn func(Row) error) error
	// Sessions visits the roll-ups of the sessions whose first window
	// started in [from, to).
	Sessions(ctx context.Context, from, to time.Time, fn func(SessionRow) error) error
	// Health visits the hourly health roll-ups of the UTC hours in
	// [from, to).
	Health(ctx context.Context, from, to time.Time, fn func(HealthRow) error) error
}
