package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary text. It must never panic, a configuration
// it accepts must validate, and what it rejects must come back as one
// *FieldError per line, matching ErrInvalid. Seeds are in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte("city: {id: x, name: X}\nprobe: {ws: {tick_period: 0}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err == nil {
			if c == nil {
				t.Fatal("Parse returned neither a config nor an error")
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
			}
			return
		}
		if c != nil {
			t.Fatal("Parse returned a config with its error")
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error does not match ErrInvalid: %v", err)
		}
		joined, ok := err.(interface{ Unwrap() []error })
		if !ok {
			t.Fatalf("error %T does not join errors", err)
		}
		problems := joined.Unwrap()
		for _, e := range problems {
			var fe *FieldError
			if !errors.As(e, &fe) {
				t.Fatalf("joined error %T is not a *FieldError: %v", e, e)
			}
		}
		if lines := strings.Count(err.Error(), "\n") + 1; lines != len(problems) {
			t.Fatalf("%d problems printed on %d lines:\n%v", len(problems), lines, err)
		}
	})
}
