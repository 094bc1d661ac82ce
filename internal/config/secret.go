package config

import (
	"fmt"
	"strconv"
)

// redacted is what a Secret prints as.
const redacted = "<secret>"

// Secret is a string that never prints: formatting it with any fmt verb,
// String, GoString, and marshalling it to JSON, YAML or text all give
// "<secret>" (an empty Secret stays empty, so "not set" still shows). Only
// Reveal returns the value; call it where the value is sent, nowhere else.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String returns "<secret>", or "" when the secret is empty.
func (s Secret) String() string { return s.shown() }

// GoString returns "<secret>", quoted as %#v would, or "" when empty.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.shown()) }

// Format makes every fmt verb (%v, %+v, %s, %q, %x, %d…) print "<secret>".
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.shown())
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.shown())
	default:
		fmt.Fprint(f, s.shown())
	}
}

// MarshalJSON encodes the secret as "<secret>" (which json.Marshal, escaping
// HTML, writes as "\u003csecret\u003e").
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.shown())), nil }

// MarshalYAML encodes the secret as "<secret>".
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }

// MarshalText encodes the secret as "<secret>", for encoders (log/slog's
// text handler among them) that prefer text.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }
