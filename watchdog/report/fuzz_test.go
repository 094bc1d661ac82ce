package report

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzPeriodFor: whatever a command line or a query string says, a period
// comes back whole — a local midnight to a later one that holds its start
// — or ErrPeriod, never a panic.
func FuzzPeriodFor(f *testing.F) {
	for _, s := range [][4]string{
		{"month", "", "", ""}, {"week", "2026-12-31", "", ""}, {"day", "2028-02-29", "", ""}, {"quarter", "today", "", ""},
		{"half", "2026-07", "", ""}, {"year", "2026", "", ""}, {"range", "", "2026-11-01", "2026-11-30"},
		{"month", "2026-13-01", "", ""}, {"day", "", "2026-12-05", "2026-12-01"}, {"", "99999-01-01", "", ""},
		{"week", "0001-01-01", "", ""}, {"day", "9999-12-31", "", ""}, {"month", "2026-12-03T01:00:00+14:00", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	sh := shanghai
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, sh)
	f.Fuzz(func(t *testing.T, kind, at, from, to string) {
		p, err := PeriodFor(kind, at, from, to, now, sh)
		if err != nil {
			if !errors.Is(err, ErrPeriod) {
				t.Fatalf("%q %q %q %q: error %v is not ErrPeriod", kind, at, from, to, err)
			}
			return
		}
		if !p.End.After(p.Start) || p.Start.Hour() != 0 || p.End.Hour() != 0 || p.Start.Location() != sh {
			t.Fatalf("%q %q %q %q: period %v – %v", kind, at, from, to, p.Start, p.End)
		}
		_ = p.Name()
		_ = p.ID()
		if q := p.Prev(); !q.End.Equal(p.Start) {
			t.Fatalf("prev of %v is %v", p, q)
		}
	})
}

// FuzzScope: any scope string is a scope of the configuration or a
// *ScopeError.
func FuzzScope(f *testing.F) {
	for _, s := range []string{"", "city", "sub-center:gy", "room:zx-h1", "room:", "sub-center:", "room:nope", "x:y", ":", "room:zx-h1:extra"} {
		f.Add(s)
	}
	cfg := fixtureConfig()
	f.Fuzz(func(t *testing.T, scope string) {
		sc, err := ParseScope(scope, cfg)
		if err != nil {
			var se *ScopeError
			if !errors.As(err, &se) || !errors.Is(err, ErrUnknownScope) {
				t.Fatalf("%q: %v", scope, err)
			}
			return
		}
		if sc.Name == "" || (sc.Kind != ScopeCity && sc.ID == "") {
			t.Fatalf("%q: %+v", scope, sc)
		}
	})
}

// FuzzReadJSON: a report file, however mangled, reads or is refused with
// an error; one that reads writes back.
func FuzzReadJSON(f *testing.F) {
	rep, err := Build(context.Background(), fixture(f), november(f))
	if err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(`{"version":"bidwatch-report/1","summary":{"availability":null}}`))
	f.Add([]byte(`{"version":"bidwatch-report/0"}`))
	f.Add([]byte(`{"version":"bidwatch-report/1","summary":{"availability":"x"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadJSON(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "read report") {
				t.Fatalf("error %v", err)
			}
			return
		}
		var out bytes.Buffer
		if err := r.WriteJSON(&out); err != nil {
			t.Fatalf("write back: %v", err)
		}
	})
}
