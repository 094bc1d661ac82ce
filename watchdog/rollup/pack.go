package rollup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrBadPack is returned (wrapped) for bytes that are not a packed roll-up
// this version can read.
var ErrBadPack = errors.New("bad packed roll-up")

// Packed roll-ups: what the leader writes once a day (or a session) can no
// longer change, in place of its live hashes. Each starts with a format
// byte; numbers are varints, first/last times are relative to a base, a
// histogram lists only its non-empty buckets.
const (
	packDay     = 1 // one Dim's day: its total and its hours
	packSession = 2 // one session: its room and a Stats per Dim
	packHealth  = 3 // a day of health roll-ups: every server's checks' hours
)

// Bounds on what a packed value may hold, so a bad one cannot make the
// decoder allocate without limit.
const (
	maxPackHours   = 26   // hours in one day (25 across a DST change)
	maxPackString  = 256  // bytes of one id
	maxPackDims    = 4096 // Dims of one session
	maxPackHealths = 1 << 20
)

// HourStats is one hour's roll-up inside a packed day.
type HourStats struct {
	Hour  time.Time
	Stats Stats
}

// Day is one Dim's packed day: its first UTC hour, its total and its
// non-empty hours, in order.
type Day struct {
	Base  time.Time
	Total Stats
	Hours []HourStats
}

// EncodeDay packs one Dim's day: base is the day's first UTC hour, hours
// its non-empty hours in order, all within 26 hours of base. The total is
// the sum of the hours.
func EncodeDay(base time.Time, hours []HourStats) ([]byte, error) {
	base = Hour(base)
	var total Stats
	for i := range hours {
		total.Merge(&hours[i].Stats)
	}
	bms := base.UnixMilli()
	t := appendStats(nil, &total, bms)
	b := make([]byte, 0, 16+len(t)*(1+len(hours)))
	b = append(b, packDay)
	b = binary.AppendUvarint(b, uint64(base.Unix()/3600))
	b = binary.AppendUvarint(b, uint64(len(t)))
	b = append(b, t...)
	b = binary.AppendUvarint(b, uint64(len(hours)))
	prev := -1
	for i := range hours {
		off := int(hours[i].Hour.Sub(base) / time.Hour)
		if off <= prev || off >= maxPackHours || hours[i].Hour.Sub(base)%time.Hour != 0 {
			return nil, fmt.Errorf("pack day %s: hour %s out of order or out of the day", base.Format(time.RFC3339), hours[i].Hour.Format(time.RFC3339))
		}
		b = binary.AppendUvarint(b, uint64(off-prev-1))
		b = appendStats(b, &hours[i].Stats, bms)
		prev = off
	}
	return b, nil
}

func (r *reader) dayHead() (base time.Time, bms int64, tlen int) {
	r.format(packDay)
	h := r.uvarint("base hour")
	if h > 1<<32 {
		r.fail("base hour %d out of range", h)
	}
	base = time.Unix(int64(h)*3600, 0).UTC()
	tlen = r.small("total length", uint64(len(r.b)))
	return base, base.UnixMilli(), tlen
}

// headHoldsTotal reports whether b, the head of a packed day, holds the
// whole of its total.
func headHoldsTotal(b []byte) bool {
	r := reader{b: b}
	_, _, tlen := r.dayHead()
	return r.err == nil && len(b)-r.off >= tlen
}

// DecodeDayTotal reads only a packed day's base hour and total.
func DecodeDayTotal(b []byte) (time.Time, Stats, error) {
	r := reader{b: b}
	var st Stats
	base, bms, tlen := r.dayHead()
	if r.err == nil && len(b)-r.off < tlen {
		r.fail("total: truncated")
	}
	if r.err != nil {
		return time.Time{}, st, r.err
	}
	tr := reader{b: b[r.off : r.off+tlen]}
	tr.stats(&st, bms)
	tr.end()
	if tr.err != nil {
		return time.Time{}, Stats{}, fmt.Errorf("total: %w", tr.err)
	}
	return base, st, nil
}

// DecodeDay reads a packed day.
func DecodeDay(b []byte) (Day, error) {
	var d Day
	if err := decodeDay(b, &d); err != nil {
		return Day{}, err
	}
	return d, nil
}

// decodeDay reads a packed day into d, reusing d.Hours' room (a year's
// Hourly decodes a hundred thousand days).
func decodeDay(b []byte, d *Day) error {
	base, total, err := DecodeDayTotal(b)
	if err != nil {
		return err
	}
	d.Base, d.Total = base, total
	r := reader{b: b}
	_, bms, tlen := r.dayHead()
	r.off += tlen
	n := r.small("hours", maxPackHours)
	if cap(d.Hours) < n {
		d.Hours = make([]HourStats, n)
	}
	d.Hours = d.Hours[:n]
	prev := -1
	for i := range n {
		off := prev + 1 + r.small("hour gap", maxPackHours)
		if r.err == nil && off >= maxPackHours {
			r.fail("hour %d is past the day", off)
		}
		if r.err != nil {
			break
		}
		h := &d.Hours[i]
		*h = HourStats{Hour: base.Add(time.Duration(off) * time.Hour)}
		r.stats(&h.Stats, bms)
		prev = off
	}
	r.end()
	if r.err != nil {
		d.Hours = d.Hours[:0]
		return r.err
	}
	return nil
}

// Session is a packed session: its room and its roll-up per Dim.
type Session struct {
	Room string
	Dims []SessionDim
}

// SessionDim is one Dim's roll-up in a session.
type SessionDim struct {
	Dim   Dim
	Stats Stats
}

// EncodeSession packs a session.
func EncodeSession(s *Session) []byte {
	var base int64
	for i := range s.Dims {
		if f := s.Dims[i].Stats.FirstMS; f != 0 && (base == 0 || f < base) {
			base = f
		}
	}
	b := []byte{packSession}
	b = binary.AppendVarint(b, base)
	b = appendString(b, s.Room)
	b = binary.AppendUvarint(b, uint64(len(s.Dims)))
	for i := range s.Dims {
		d := &s.Dims[i]
		b = appendString(b, d.Dim.Location)
		b = appendString(b, string(d.Dim.Transport))
		b = appendStats(b, &d.Stats, base)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	if len(s) > maxPackString {
		s = s[:maxPackString]
	}
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeSession reads a packed session.
func DecodeSession(b []byte) (Session, error) {
	var s Session
	if err := decodeSession(b, &s); err != nil {
		return Session{}, err
	}
	return s, nil
}

// decodeSession reads a packed session into s, reusing s.Dims' room.
func decodeSession(b []byte, s *Session) error {
	r := reader{b: b}
	r.format(packSession)
	base := r.varint("base")
	s.Room = r.str("room")
	n := r.small("dims", maxPackDims)
	if r.err == nil && n > len(b)-r.off {
		r.fail("%d dims in %d bytes", n, len(b)-r.off) // each takes 4 bytes at least
	}
	if r.err != nil {
		n = 0
	}
	if cap(s.Dims) < n {
		s.Dims = make([]SessionDim, n)
	}
	s.Dims = s.Dims[:n]
	for i := range s.Dims {
		if r.err != nil {
			break
		}
		d := &s.Dims[i]
		*d = SessionDim{}
		d.Dim.Room = s.Room
		d.Dim.Location = r.str("location")
		d.Dim.Transport = transport(r.str("transport"))
		r.stats(&d.Stats, base)
	}
	r.end()
	if r.err != nil {
		s.Room, s.Dims = "", s.Dims[:0]
		return r.err
	}
	if n == 0 {
		s.Dims = nil
	}
	return nil
}

// EncodeHealthDay packs a day of health roll-ups (rows of hours at or
// after base, within 26 hours).
func EncodeHealthDay(base time.Time, rows []HealthRow) ([]byte, error) {
	base = Hour(base)
	b := []byte{packHealth}
	b = binary.AppendUvarint(b, uint64(base.Unix()/3600))
	b = binary.AppendUvarint(b, uint64(len(rows)))
	for i := range rows {
		h := &rows[i]
		off := h.Start.Sub(base)
		if off < 0 || off >= maxPackHours*time.Hour || off%time.Hour != 0 {
			return nil, fmt.Errorf("pack health day %s: hour %s out of the day", base.Format(time.RFC3339), h.Start.Format(time.RFC3339))
		}
		b = binary.AppendUvarint(b, uint64(off/time.Hour))
		b = appendString(b, h.Server)
		b = appendString(b, h.Check)
		b = appendString(b, h.Metric)
		b = binary.AppendVarint(b, h.Checks)
		b = binary.AppendVarint(b, h.Failed)
		b = binary.AppendVarint(b, h.N)
		if h.N != 0 {
			for _, f := range []float64{h.Sum, h.Min, h.Max} {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
			}
		}
	}
	return b, nil
}

// DecodeHealthDay reads a packed day of health roll-ups.
func DecodeHealthDay(b []byte) ([]HealthRow, error) {
	r := reader{b: b}
	r.format(packHealth)
	h := r.uvarint("base hour")
	if h > 1<<32 {
		r.fail("base hour %d out of range", h)
	}
	base := time.Unix(int64(h)*3600, 0).UTC()
	n := r.small("rows", min(maxPackHealths, uint64(len(b))))
	var rows []HealthRow
	for range n {
		if r.err != nil {
			break
		}
		var row HealthRow
		row.Start = base.Add(time.Duration(r.small("hour", maxPackHours-1)) * time.Hour)
		row.Server, row.Check, row.Metric = r.str("server"), r.str("check"), r.str("metric")
		row.Checks, row.Failed, row.N = r.varint("checks"), r.varint("failed"), r.varint("n")
		if row.N != 0 {
			row.Sum, row.Min, row.Max = r.float("sum"), r.float("min"), r.float("max")
		}
		rows = append(rows, row)
	}
	r.end()
	if r.err != nil {
		return nil, r.err
	}
	return rows, nil
}
