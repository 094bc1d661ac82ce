package drill

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary text. It must never panic; a script it
// accepts must be valid on its own and have a timeline that runs forward;
// what it rejects must come back as one *FieldError per line, matching
// ErrInvalid. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte("drills:\n  - {name: x, hold: 1s, faults: [{path: gy, cut: true}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err == nil {
			if s == nil {
				t.Fatal("Parse returned neither a script nor an error")
			}
			p := &problems{}
			s.validate(p)
			if len(p.list) > 0 {
				t.Fatalf("Parse accepted a script that validate rejects: %v", p.err())
			}
			steps := s.steps()
			if !slices.IsSortedFunc(steps, func(a, b step) int { return int(a.at - b.at) }) {
				t.Fatalf("steps out of order: %v", steps)
			}
			for _, st := range steps {
				if st.at < 0 || st.at > s.Length() {
					t.Fatalf("step %v outside the script's length %s", st, s.Length())
				}
			}
			return
		}
		if s != nil {
			t.Fatal("Parse returned a script with its error")
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error does not match ErrInvalid: %v", err)
		}
		joined, ok := err.(interface{ Unwrap() []error })
		if !ok {
			t.Fatalf("error %T does not join errors", err)
		}
		list := joined.Unwrap()
		for _, e := range list {
			var fe *FieldError
			if !errors.As(e, &fe) {
				t.Fatalf("joined error %T is not a *FieldError: %v", e, e)
			}
		}
		if lines := strings.Count(err.Error(), "\n") + 1; lines != len(list) {
			t.Fatalf("%d problems printed on %d lines:\n%v", len(list), lines, err)
		}
	})
}
