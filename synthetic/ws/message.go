package ws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrBadMessage is returned for a message that is not the JSON the
// configured protocol describes.
var ErrBadMessage = errors.New("bad message")

// Pointer is a parsed RFC 6901 JSON pointer.
type Pointer []string

// ParsePointer parses an RFC 6901 JSON pointer such as "/data/seq".
// The empty string is the empty pointer (the whole document).
func ParsePointer(s string) (Pointer, error) {
	if s == "" {
		return Pointer{}, nil
	}
	if s[0] != '/' {
		return nil, fmt.Errorf("json pointer %q: must start with /", s)
	}
	parts := strings.Split(s[1:], "/")
	for i, p := range parts {
		for j := 0; j < len(p); j++ {
			if p[j] == '~' && (j+1 == len(p) || (p[j+1] != '0' && p[j+1] != '1')) {
				return nil, fmt.Errorf("json pointer %q: bad escape in %q (want ~0 or ~1)", s, p)
			}
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return Pointer(parts), nil
}

// lookup follows p through a document decoded with UseNumber.
func (p Pointer) lookup(doc any) (any, bool) {
	cur := doc
	for _, tok := range p {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) || (len(tok) > 1 && tok[0] == '0') {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// TSUnit says how a message's server timestamp is written.
type TSUnit string

// Timestamp units. Auto tells seconds, milliseconds, microseconds and
// nanoseconds since the Unix epoch apart by magnitude, and reads strings as
// RFC 3339.
const (
	TSAuto    TSUnit = "auto"
	TSSeconds TSUnit = "s"
	TSMillis  TSUnit = "ms"
	TSMicros  TSUnit = "us"
	TSNanos   TSUnit = "ns"
	TSRFC3339 TSUnit = "rfc3339"
)

// ParseTSUnit checks a unit name; "" means auto.
func ParseTSUnit(s string) (TSUnit, error) {
	switch u := TSUnit(s); u {
	case "":
		return TSAuto, nil
	case TSAuto, TSSeconds, TSMillis, TSMicros, TSNanos, TSRFC3339:
		return u, nil
	}
	return "", fmt.Errorf("unknown timestamp unit %q (want auto, s, ms, us, ns or rfc3339)", s)
}

// messageFormat is the configured shape of a hall's messages.
type messageFormat struct {
	seq    Pointer // nil: messages carry no sequence number
	ts     Pointer // nil: messages carry no server timestamp
	tsUnit TSUnit
}

// message is what bidwatch reads from one hall message.
type message struct {
	seq    int64
	hasSeq bool
	ts     time.Time
	hasTS  bool
}

// parse reads the sequence number and server timestamp out of a message.
// A message that is not JSON, or whose fields have the wrong type, is an
// ErrBadMessage; a message without the fields is fine (an ack, say).
func (f messageFormat) parse(data []byte) (message, error) {
	var m message
	if f.seq == nil && f.ts == nil {
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return m, fmt.Errorf("%w: not JSON: %v", ErrBadMessage, err)
	}
	if dec.More() {
		return m, fmt.Errorf("%w: trailing data after JSON value", ErrBadMessage)
	}
	if f.seq != nil {
		if v, ok := f.seq.lookup(doc); ok && v != nil {
			n, ok := v.(json.Number)
			if !ok {
				return m, fmt.Errorf("%w: sequence number is %T, want a number", ErrBadMessage, v)
			}
			seq, err := n.Int64()
			if err != nil || seq < 0 {
				return m, fmt.Errorf("%w: sequence number %s is not a non-negative integer", ErrBadMessage, n)
			}
			m.seq, m.hasSeq = seq, true
		}
	}
	if f.ts != nil {
		if v, ok := f.ts.lookup(doc); ok && v != nil {
			ts, err := parseTimestamp(v, f.tsUnit)
			if err != nil {
				return m, fmt.Errorf("%w: timestamp: %v", ErrBadMessage, err)
			}
			m.ts, m.hasTS = ts, true
		}
	}
	return m, nil
}

func parseTimestamp(v any, unit TSUnit) (time.Time, error) {
	switch x := v.(type) {
	case string:
		if unit != TSAuto && unit != TSRFC3339 {
			return time.Time{}, fmt.Errorf("got a string, want a number in %s", unit)
		}
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return time.Time{}, fmt.Errorf("not RFC 3339: %q", x)
		}
		return t, nil
	case json.Number:
		if unit == TSRFC3339 {
			return time.Time{}, fmt.Errorf("got a number, want an RFC 3339 string")
		}
		f, err := x.Float64()
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
			return time.Time{}, fmt.Errorf("not a positive number: %s", x)
		}
		if unit == TSAuto {
			switch {
			case f < 1e11:
				unit = TSSeconds
			case f < 1e14:
				unit = TSMillis
			case f < 1e17:
				unit = TSMicros
			default:
				unit = TSNanos
			}
		}
		// Integers are converted exactly; fractions keep float precision.
		if i, err := x.Int64(); err == nil {
			switch unit {
			case TSSeconds:
				if i > math.MaxInt64/int64(time.Second) {
					break
				}
				return time.Unix(i, 0), nil
			case TSMillis:
				return time.UnixMilli(i), nil
			case TSMicros:
				return time.UnixMicro(i), nil
			case TSNanos:
				return time.Unix(0, i), nil
			}
		}
		scale := map[TSUnit]float64{TSSeconds: 1e9, TSMillis: 1e6, TSMicros: 1e3, TSNanos: 1}[unit]
		ns := f * scale
		if ns > math.MaxInt64 {
			return time.Time{}, fmt.Errorf("out of range: %s", x)
		}
		return time.Unix(0, int64(ns)), nil
	}
	return time.Time{}, fmt.Errorf("got %T, want a number or a string", v)
}
