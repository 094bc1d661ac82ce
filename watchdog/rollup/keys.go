package rollup

import (
	"strings"
	"time"
)

// Key names of the roll-ups, under the bus prefix, besides those in
// source.go. Hours are UTC hours (YYYYMMDDHH), days days of the report time
// zone (YYYYMMDD); <dim> is "<room>|<location>|<transport>".
const (
	// KeyHour + "<YYYYMMDDHH>:<dim>" is a HASH: one Dim's live roll-up of
	// an hour, a field per non-zero counter (see statsField) and per
	// non-empty histogram bucket ("b<i>"), "a"/"z" the first/last window
	// (Unix ms). Kept until its day is packed (at most rollup_retention).
	KeyHour = "ru:h:"
	// KeyHours is a ZSET indexing the live hour hashes: member
	// "<YYYYMMDDHH>:<dim>", score the hour's start (Unix ms).
	KeyHours = "ru:hours"
	// KeyDay + "<YYYYMMDD>:<dim>" is a STRING: one Dim's packed day (see
	// EncodeDay), expiring rollup_retention after the day.
	KeyDay = "ru:d:"
	// KeyDims is a ZSET of the Dims seen: member "<dim>", score the last
	// window seen (Unix ms). Reads list a period's keys from it.
	KeyDims = "ru:dims"
	// KeyLiveSessions is a ZSET of the sessions whose roll-up hash is
	// still live (not yet packed): score the last window seen (Unix ms).
	KeyLiveSessions = "ru:slive"
	// KeyHealthHour + "<YYYYMMDDHH>" is a HASH of an hour's health
	// roll-ups: field "<server>|<check>|<metric>|<c|f|n|s|lo|hi>".
	KeyHealthHour = "ru:hh:"
	// KeyHealthHours is a ZSET of the live health hours: member
	// "<YYYYMMDDHH>", score the hour's start (Unix ms).
	KeyHealthHours = "ru:hhours"
	// KeyHealthDay + "<YYYYMMDD>" is a STRING: a packed day of health
	// roll-ups (see EncodeHealthDay).
	KeyHealthDay = "ru:hd:"
)

// Session hash fields besides the per-Dim ones ("<location>|<transport>|"
// + a statsField).
const (
	sessRoom   = "room"
	sessPacked = "pk"
)

// hourFmt and dayFmt write hours and days in key names.
const (
	hourFmt = "2006010215"
	dayFmt  = "20060102"
)

// HourName returns the UTC hour of t as written in key names.
func HourName(t time.Time) string { return t.UTC().Format(hourFmt) }

// DayName returns the day of t in loc as written in key names.
func DayName(t time.Time, loc *time.Location) string { return t.In(loc).Format(dayFmt) }

// Key returns the Dim as written in key names and index members.
func (d Dim) Key() string {
	return d.Room + "|" + d.Location + "|" + string(d.Transport)
}

// ParseDim reads a Dim written by Key.
func ParseDim(s string) (Dim, bool) {
	room, rest, ok1 := strings.Cut(s, "|")
	loc, tr, ok2 := strings.Cut(rest, "|")
	if !ok1 || !ok2 || room == "" || strings.Contains(tr, "|") {
		return Dim{}, false
	}
	return Dim{Room: room, Location: loc, Transport: transport(tr)}, true
}

// parseHourMember reads a KeyHours member: the hour and the Dim.
func parseHourMember(m string) (time.Time, Dim, bool) {
	h, d, ok := strings.Cut(m, ":")
	if !ok {
		return time.Time{}, Dim{}, false
	}
	t, err := time.Parse(hourFmt, h)
	if err != nil {
		return time.Time{}, Dim{}, false
	}
	dim, ok := ParseDim(d)
	return t, dim, ok
}
