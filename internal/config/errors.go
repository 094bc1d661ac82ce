package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is matched, with [errors.Is], by every error [Parse], [Load] and
// [Config.Validate] return for a configuration that is wrong (as opposed to,
// say, a file that cannot be read).
var ErrInvalid = errors.New("invalid configuration")

// FieldError is one problem with a configuration.
type FieldError struct {
	// Path is the YAML path of the offending key, e.g. "rooms[2].servers[0]";
	// empty for a problem with the document as a whole.
	Path string
	// Line is the 1-based line in the YAML text, or 0 when the problem is not
	// about the text itself (a reference to an unknown id, a bad range).
	Line int
	// Msg says what is wrong and quotes the offending value.
	Msg string
}

// Error formats the problem as "path (line N): msg", leaving out what is unknown.
func (e *FieldError) Error() string {
	switch {
	case e.Path != "" && e.Line > 0:
		return fmt.Sprintf("%s (line %d): %s", e.Path, e.Line, e.Msg)
	case e.Path != "":
		return e.Path + ": " + e.Msg
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	default:
		return e.Msg
	}
}

// Is makes every FieldError match [ErrInvalid].
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// problems collects FieldErrors in the order they are found.
type problems []error

// add records a problem at path with a formatted message.
func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// addLine records a problem at path and line with a formatted message.
func (p *problems) addLine(path string, line int, format string, args ...any) {
	*p = append(*p, &FieldError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// under records the problems a sub-validator found, their paths (relative:
// "url", "metrics.cpu_pct") put under path.
func (p *problems) under(path string, sub []*FieldError) {
	for _, e := range sub {
		switch {
		case e.Path == "":
			e.Path = path
		case strings.HasPrefix(e.Path, "["):
			e.Path = path + e.Path
		default:
			e.Path = path + "." + e.Path
		}
		*p = append(*p, e)
	}
}

// maxProblems is how many problems an error lists before it only counts the
// rest.
const maxProblems = 200

// err joins the problems, each once, or returns nil when there are none.
func (p problems) err() error {
	seen := make(map[string]bool, len(p))
	var out []error
	more := 0
	for _, e := range p {
		msg := e.Error()
		switch {
		case seen[msg]:
		case len(out) == maxProblems:
			more++
		default:
			out = append(out, e)
		}
		seen[msg] = true
	}
	if more > 0 {
		out = append(out, &FieldError{Msg: fmt.Sprintf("and %d more problems", more)})
	}
	return errors.Join(out...)
}

// joinPath appends a key to a YAML path: "rooms[0]" + "id" = "rooms[0].id".
// A key that is not a plain word is quoted: probe.ws.headers["X Y"].
func joinPath(path, key string) string {
	switch {
	case key == "":
		return path
	case strings.HasPrefix(key, "["):
		return path + key
	case !plainKey(key):
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	default:
		return path + "." + key
	}
}

// indexPath appends a list index to a YAML path: "rooms" + 2 = "rooms[2]".
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func plainKey(key string) bool {
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// oneOf formats the allowed values for a message: "a, b or c".
func oneOf(values ...string) string {
	switch len(values) {
	case 0:
		return ""
	case 1:
		return values[0]
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}
