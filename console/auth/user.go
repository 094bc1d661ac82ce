package auth

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// User is one console user. It carries no password hash: what marshals to
// JSON may be shown.
type User struct {
	// Name is what the user signs in with: letters, digits, '.', '_', '-'
	// or CJK characters, at most 64.
	Name string `json:"name"`
	// Display is the name shown and recorded in timelines, e.g. 张工.
	Display   string    `json:"display,omitempty"`
	Role      Role      `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	ChangedAt time.Time `json:"changed_at"`
}

// Actor is how the user is recorded in an incident's timeline: the display
// name and the name, e.g. "李主任 (li)", or the name alone.
func (u User) Actor() string {
	if u.Display == "" || u.Display == u.Name {
		return u.Name
	}
	return u.Display + " (" + u.Name + ")"
}

// record is a user as stored: the user and what must never leave the
// package.
type record struct {
	User
	// Hash is the bcrypt hash of the password.
	Hash string `json:"hash"`
	// Epoch grows when the password changes or the user is disabled: a
	// session made in an older epoch is over, even one a racing login
	// wrote after the sessions were deleted.
	Epoch int64 `json:"epoch"`
}

// Limits on what users type.
const (
	maxName        = 64 // characters
	minPassword    = 8  // characters
	maxPassword    = 72 // bytes: bcrypt reads no further
	maxDisplay     = 64 // characters
	maxLabel       = 64 // characters
	maxTokenLength = 128
)

// ValidName checks a user name: 1 to 64 characters, each an ASCII letter or
// digit, '.', '_', '-' or a CJK character, not starting with '-' or '.'.
func ValidName(name string) error {
	if n := utf8.RuneCountInString(name); n == 0 || n > maxName {
		return fmt.Errorf("%w: user name %q: want 1 to %d characters", ErrInvalid, name, maxName)
	}
	for _, r := range name {
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'):
		case r != utf8.RuneError && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
		default:
			return fmt.Errorf("%w: user name %q: %q is not allowed (use letters, digits, '.', '_', '-' or CJK characters)", ErrInvalid, name, r)
		}
	}
	if name[0] == '-' || name[0] == '.' {
		return fmt.Errorf("%w: user name %q: must not start with %q", ErrInvalid, name, name[0])
	}
	return nil
}

// validDisplay checks a display name and returns it trimmed.
func validDisplay(display string) (string, error) {
	display = strings.TrimSpace(display)
	if err := printable(display, maxDisplay); err != nil {
		return "", fmt.Errorf("%w: display name %q: %v", ErrInvalid, display, err)
	}
	return display, nil
}

// validLabel checks an API token's label and returns it trimmed.
func validLabel(label string) (string, error) {
	label = strings.TrimSpace(label)
	if label == "" {
		return "", fmt.Errorf("%w: token label: empty", ErrInvalid)
	}
	if err := printable(label, maxLabel); err != nil {
		return "", fmt.Errorf("%w: token label %q: %v", ErrInvalid, label, err)
	}
	return label, nil
}

func printable(s string, max int) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("not UTF-8")
	}
	if utf8.RuneCountInString(s) > max {
		return fmt.Errorf("longer than %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("has a control character")
		}
	}
	return nil
}

// validPassword checks a new password. Its error never quotes it.
func validPassword(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w: password: not UTF-8", ErrInvalid)
	case utf8.RuneCountInString(pw) < minPassword:
		return fmt.Errorf("%w: password: want at least %d characters", ErrInvalid, minPassword)
	case len(pw) > maxPassword:
		return fmt.Errorf("%w: password: want at most %d bytes (bcrypt reads no further)", ErrInvalid, maxPassword)
	}
	return nil
}
