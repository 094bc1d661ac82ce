package drill

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is matched, with [errors.Is], by every error [Parse], [Load]
// and [Script.Check] return for a drill script that is wrong (as opposed to,
// say, a file that cannot be read).
var ErrInvalid = errors.New("invalid drill script")

// FieldError is one problem with a drill script.
type FieldError struct {
	// Path is the YAML path of the offending key, e.g.
	// "drills[2].faults[0].server"; empty for the document as a whole.
	Path string
	// Line is the 1-based line in the YAML text (of the key, or of the
	// mapping that lacks it); 0 for a script not parsed from text.
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

// maxProblems is how many problems an error lists before it only counts
// the rest.
const maxProblems = 100

// problems collects FieldErrors in the order they are found; lines gives a
// path its line, or the line of the nearest path above it that has one.
type problems struct {
	list  []*FieldError
	lines map[string]int
}

// add records a problem at path with a formatted message.
func (p *problems) add(path, format string, args ...any) {
	p.list = append(p.list, &FieldError{Path: path, Line: lineOf(p.lines, path), Msg: fmt.Sprintf(format, args...)})
}

// addLine records a problem at path and a known line.
func (p *problems) addLine(path string, line int, format string, args ...any) {
	p.list = append(p.list, &FieldError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// err joins the problems, each once, or returns nil when there are none.
func (p *problems) err() error {
	seen := make(map[string]bool, len(p.list))
	var out []error
	more := 0
	for _, e := range p.list {
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

// lineOf finds the line of path, or of the nearest path above it.
func lineOf(lines map[string]int, path string) int {
	for {
		if l, ok := lines[path]; ok {
			return l
		}
		if path == "" {
			return 0
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			path = ""
		} else {
			path = path[:i]
		}
	}
}

// joinPath appends a key to a YAML path: "drills[0]" + "hold" = "drills[0].hold".
func joinPath(path, key string) string {
	switch {
	case !plainKey(key):
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	default:
		return path + "." + key
	}
}

// indexPath appends a list index to a YAML path: "drills" + 2 = "drills[2]".
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func plainKey(key string) bool {
	if key == "" {
		return false
	}
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

// allOf formats values joined with "and": "a, b and c".
func allOf(values ...string) string {
	if len(values) < 2 {
		return oneOf(values...)
	}
	return strings.Join(values[:len(values)-1], ", ") + " and " + values[len(values)-1]
}
