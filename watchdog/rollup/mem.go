package rollup

import (
	"context"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/health"
)

// Mem is a Reader over roll-ups kept in memory: Samples and health
// readings are folded into it directly, exactly as the watchdog folds them
// into Redis. It is for tests and fixtures (a report built from a
// hand-made month), and is safe for concurrent use.
type Mem struct {
	th  Thresholds
	loc *time.Location

	mu       sync.Mutex
	hours    map[hourDim]*Stats
	sessions map[string]*memSession
	health   map[HealthKey]*HealthRow
}

type hourDim struct {
	hour int64 // Unix seconds of the UTC hour
	dim  Dim
}

type memSession struct {
	first int64 // Unix ms of the first window
	dims  map[Dim]*Stats
}

// NewMem returns an empty Mem folding with th; loc is the time zone Daily
// uses when it is given none.
func NewMem(th Thresholds, loc *time.Location) *Mem {
	if loc == nil {
		loc = time.UTC
	}
	return &Mem{th: th, loc: loc, hours: map[hourDim]*Stats{}, sessions: map[string]*memSession{}, health: map[HealthKey]*HealthRow{}}
}

// Add folds one Sample into its hour's roll-up and, unless it was taken on
// a patrol, its session's. A Sample the watchdog would not roll up (no
// room, no measured time) is ignored.
func (m *Mem) Add(s *sample.Sample) {
	if !Valid(s) {
		return
	}
	var st Stats
	st.Add(s, m.th)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addHour(DimOf(s), Hour(s.WindowStart), &st)
	if !IsPatrol(s) {
		m.addSession(s.Session, DimOf(s), &st)
	}
}

// AddHour merges st into the roll-up of d over the UTC hour starting at
// hour: for fixtures too large to make from Samples (a year of a city).
func (m *Mem) AddHour(d Dim, hour time.Time, st *Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addHour(d, Hour(hour), st)
}

// AddSession merges st into session id's roll-up of d.
func (m *Mem) AddSession(id string, d Dim, st *Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addSession(id, d, st)
}

func (m *Mem) addHour(d Dim, hour time.Time, st *Stats) {
	k := hourDim{hour: hour.Unix(), dim: d}
	cur := m.hours[k]
	if cur == nil {
		cur = &Stats{}
		m.hours[k] = cur
	}
	cur.Merge(st)
}

func (m *Mem) addSession(id string, d Dim, st *Stats) {
	ss := m.sessions[id]
	if ss == nil {
		ss = &memSession{first: st.FirstMS, dims: map[Dim]*Stats{}}
		m.sessions[id] = ss
	}
	if st.FirstMS != 0 && (ss.first == 0 || st.FirstMS < ss.first) {
		ss.first = st.FirstMS
	}
	cur := ss.dims[d]
	if cur == nil {
		cur = &Stats{}
		ss.dims[d] = cur
	}
	cur.Merge(st)
}

// AddReading folds one health reading into its hour's health roll-ups.
func (m *Mem) AddReading(r health.Reading) {
	ds := HealthDeltas(&r)
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range ds {
		d := &ds[i]
		row := m.health[d.Key]
		if row == nil {
			row = &HealthRow{Server: d.Key.Server, Check: d.Key.Check, Metric: d.Key.Metric, Start: d.Key.Hour}
			m.health[d.Key] = row
		}
		row.Apply(d)
	}
}

// Hourly implements Reader.
func (m *Mem) Hourly(ctx context.Context, from, to time.Time, fn func(Row) error) error {
	var rows []Row
	m.mu.Lock()
	for k, st := range m.hours {
		t := time.Unix(k.hour, 0).UTC()
		if !t.Before(from) && t.Before(to) {
			rows = append(rows, Row{Dim: k.dim, Start: t, Span: time.Hour, Stats: *st})
		}
	}
	m.mu.Unlock()
	return visit(ctx, rows, fn)
}

// Daily implements Reader: each day of loc (m's zone when nil) is the sum
// of the UTC hours that start in it.
func (m *Mem) Daily(ctx context.Context, loc *time.Location, from, to time.Time, fn func(Row) error) error {
	if loc == nil {
		loc = m.loc
	}
	type dayDim struct {
		day int64
		dim Dim
	}
	days := map[dayDim]*Row{}
	m.mu.Lock()
	for k, st := range m.hours {
		t := time.Unix(k.hour, 0)
		if t.Before(from) || !t.Before(to) {
			continue
		}
		start := DayOf(t, loc)
		dd := dayDim{day: start.Unix(), dim: k.dim}
		r := days[dd]
		if r == nil {
			r = &Row{Dim: k.dim, Start: start, Span: DaySpan(start)}
			days[dd] = r
		}
		r.Stats.Merge(st)
	}
	m.mu.Unlock()
	rows := make([]Row, 0, len(days))
	for _, r := range days {
		rows = append(rows, *r)
	}
	return visit(ctx, rows, fn)
}

// Sessions implements Reader.
func (m *Mem) Sessions(ctx context.Context, from, to time.Time, fn func(SessionRow) error) error {
	var rows []SessionRow
	m.mu.Lock()
	for id, ss := range m.sessions {
		if ss.first < from.UnixMilli() || ss.first >= to.UnixMilli() {
			continue
		}
		for d, st := range ss.dims {
			rows = append(rows, SessionRow{Session: id, Dim: d, Stats: *st})
		}
	}
	m.mu.Unlock()
	return visit(ctx, rows, fn)
}

// Health implements Reader.
func (m *Mem) Health(ctx context.Context, from, to time.Time, fn func(HealthRow) error) error {
	var rows []HealthRow
	m.mu.Lock()
	for k, r := range m.health {
		if !k.Hour.Before(from) && k.Hour.Before(to) {
			rows = append(rows, *r)
		}
	}
	m.mu.Unlock()
	return visit(ctx, rows, fn)
}

// visit calls fn for each row until it or ctx says stop.
func visit[T any](ctx context.Context, rows []T, fn func(T) error) error {
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// DayOf returns the midnight in loc that starts the day holding t.
func DayOf(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}

// DaySpan returns how long the day starting at midnight start lasts in its
// zone: 24 h, or 23 or 25 h across a daylight-saving change.
func DaySpan(start time.Time) time.Duration {
	return start.AddDate(0, 0, 1).Sub(start)
}

// Valid reports whether a Sample is rolled up: it names its room and
// measured some time, and its room and location are usable in key names
// (no ':' or '|').
func Valid(s *sample.Sample) bool {
	return s.Room != "" && s.WindowMS >= 0.5 && !s.WindowStart.IsZero() &&
		clean(s.Room) && clean(s.Location) && clean(string(s.Transport))
}

func clean(id string) bool {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == ':' || c == '|' || c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
