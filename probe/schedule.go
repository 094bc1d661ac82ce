package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Session is one scheduled bid opening (开标场次) in one room.
type Session struct {
	ID    string
	Room  string
	Title string
	// OpensAt is when the opening starts; ExpectedDuration how long it is
	// expected to last.
	OpensAt          time.Time
	ExpectedDuration time.Duration
	// Cancelled sessions are kept in the schedule but not probed.
	Cancelled bool
	// AdHoc marks a "probe this room now" request: probed from OpensAt for
	// ExpectedDuration exactly, with no lead or tail.
	AdHoc bool
}

// ErrBadSchedule is returned (wrapped) for a schedule that does not parse or
// validate; the message names every bad entry by its path.
var ErrBadSchedule = errors.New("bad schedule")

// maxScheduleBytes bounds a schedule file or feed response.
const maxScheduleBytes = 8 << 20

// scheduleDoc is the schedule's wire form, the same in the YAML file and the
// JSON feed:
//
//	sessions:
//	  - id: "2026-0412-03"
//	    room: hall-1
//	    title: "Road works, lot 3"
//	    opens_at: "2026-11-02T09:30:00+08:00"
//	    expected_duration: 90m
//	    cancelled: false
type scheduleDoc struct {
	Sessions []sessionDoc `yaml:"sessions" json:"sessions"`
}

type sessionDoc struct {
	ID               string `yaml:"id" json:"id"`
	Room             string `yaml:"room" json:"room"`
	Title            string `yaml:"title" json:"title"`
	OpensAt          string `yaml:"opens_at" json:"opens_at"`
	ExpectedDuration string `yaml:"expected_duration" json:"expected_duration"`
	Cancelled        bool   `yaml:"cancelled" json:"cancelled"`
}

// ParseScheduleYAML parses a schedule file strictly (an unknown key is an
// error) and validates it against the known rooms (nil: any room). The error
// names every bad entry: `sessions[3].opens_at: "…" is not an RFC 3339 time`.
func ParseScheduleYAML(data []byte, knownRoom func(string) bool) ([]Session, error) {
	if len(data) > maxScheduleBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadSchedule, len(data), maxScheduleBytes)
	}
	var doc scheduleDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrBadSchedule, err)
	}
	return doc.sessions(knownRoom)
}

// ParseScheduleJSON parses a feed response. Unknown fields are ignored — the
// trading system may send more than bidwatch reads — but every session must
// validate, as in ParseScheduleYAML.
func ParseScheduleJSON(data []byte, knownRoom func(string) bool) ([]Session, error) {
	if len(data) > maxScheduleBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadSchedule, len(data), maxScheduleBytes)
	}
	var doc scheduleDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSchedule, jsonError(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON document", ErrBadSchedule)
	}
	return doc.sessions(knownRoom)
}

// LoadScheduleFile reads and parses a schedule file.
func LoadScheduleFile(path string, knownRoom func(string) bool) ([]Session, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: %w", path, err)
	}
	s, err := ParseScheduleYAML(data, knownRoom)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: %w", path, err)
	}
	return s, nil
}

// sessions converts and validates the document, collecting every problem.
func (d scheduleDoc) sessions(knownRoom func(string) bool) ([]Session, error) {
	var errs []error
	bad := func(i int, key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("sessions[%d].%s: %s", i, key, fmt.Sprintf(format, args...)))
	}
	first := map[string]int{}
	out := make([]Session, 0, len(d.Sessions))
	for i, sd := range d.Sessions {
		s := Session{ID: strings.TrimSpace(sd.ID), Room: strings.TrimSpace(sd.Room), Title: sd.Title, Cancelled: sd.Cancelled}
		switch j, dup := first[s.ID]; {
		case s.ID == "":
			bad(i, "id", "missing")
		case dup:
			bad(i, "id", "duplicate id %q (first at sessions[%d])", s.ID, j)
		default:
			first[s.ID] = i
		}
		switch {
		case s.Room == "":
			bad(i, "room", "missing")
		case knownRoom != nil && !knownRoom(s.Room):
			bad(i, "room", "unknown room %q", s.Room)
		}
		if sd.OpensAt == "" {
			bad(i, "opens_at", "missing")
		} else if t, err := time.Parse(time.RFC3339Nano, sd.OpensAt); err != nil {
			bad(i, "opens_at", "%q is not an RFC 3339 time (like 2026-11-02T09:30:00+08:00)", sd.OpensAt)
		} else {
			s.OpensAt = t
		}
		if sd.ExpectedDuration == "" {
			bad(i, "expected_duration", "missing")
		} else if dur, err := time.ParseDuration(sd.ExpectedDuration); err != nil {
			bad(i, "expected_duration", "%q is not a duration (like 90m or 1h30m)", sd.ExpectedDuration)
		} else if dur <= 0 {
			bad(i, "expected_duration", "%q must be positive", sd.ExpectedDuration)
		} else {
			s.ExpectedDuration = dur
		}
		out = append(out, s)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrBadSchedule, errors.Join(errs...))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OpensAt.Before(out[j].OpensAt) })
	return out, nil
}

// jsonError adds the line and column to a JSON syntax or type error.
func jsonError(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
		if te.Field != "" {
			return fmt.Errorf("%s: %v (line %d)", te.Field, err, line(data, off))
		}
	}
	if off < 0 {
		return err
	}
	return fmt.Errorf("line %d: %w", line(data, off), err)
}

func line(data []byte, off int64) int {
	off = min(off, int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}
