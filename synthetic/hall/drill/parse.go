package drill

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads and parses the drill script at path; see [Parse]. A file that
// cannot be read gives an error that does not match [ErrInvalid]. The
// problems in a file that can be read do not repeat its name: say which
// file when you print them.
func Load(path string) (*Script, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load drill script: %w", err)
	}
	return Parse(data)
}

// Parse decodes one YAML document into a script and checks it on its own
// (what it names is checked against a hall by [Script.Check]). An unknown
// key, a value of the wrong type, a duplicate key and every problem of the
// script are reported together in one error, which joins a [*FieldError]
// per problem, each with its YAML path and line, and matches [ErrInvalid].
func Parse(data []byte) (*Script, error) {
	root, err := parseNode(data)
	if err != nil {
		return nil, errors.Join(err)
	}
	s := &Script{lines: map[string]int{"": root.Line}}
	errs := &problems{lines: s.lines}
	d := newDecoder(errs)
	d.decode(root, root.Line, reflect.ValueOf(s).Elem(), "")
	s.setDefaults()

	found := &problems{lines: s.lines}
	s.bad = typeErrorPaths(errs.list)
	s.validate(found)
	holders := ancestors(s.bad)
	for _, e := range found.list {
		// A value that could not be decoded was left at its zero; what
		// validation says about it, about what is under it, or about
		// what holds it ("sets nothing") would only repeat the problem.
		if !under(e.Path, s.bad) && !holders[e.Path] {
			errs.list = append(errs.list, e)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// setDefaults fills what the expectations leave out.
func (s *Script) setDefaults() {
	for i := range s.Drills {
		d := &s.Drills[i]
		for j := range d.Expect {
			d.Expect[j] = d.withDefaults(d.Expect[j])
		}
	}
}

// withDefaults is e with what it leaves out filled from the drill: it
// should open while the drill holds and resolve within its pause.
func (d Drill) withDefaults(e Expect) Expect {
	if e.OpenWithin == 0 {
		e.OpenWithin = d.Hold
	}
	if e.ResolveWithin == 0 {
		e.ResolveWithin = d.Pause
	}
	return e
}

// typeErrorPaths returns the paths where a value could not be decoded.
func typeErrorPaths(list []*FieldError) map[string]bool {
	paths := map[string]bool{}
	for _, e := range list {
		if !strings.HasPrefix(e.Msg, "unknown key") && !strings.HasPrefix(e.Msg, "duplicate key") && !strings.HasPrefix(e.Msg, "not used in a drill") {
			paths[e.Path] = true
		}
	}
	return paths
}

// under reports whether path or a path above it is in paths.
func under(path string, paths map[string]bool) bool {
	for {
		if paths[path] {
			return true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return false
		}
		path = path[:i]
	}
}

// ancestors returns every path above one of paths.
func ancestors(paths map[string]bool) map[string]bool {
	out := map[string]bool{}
	for p := range paths {
		for {
			i := strings.LastIndexAny(p, ".[")
			if i < 0 || out[p[:i]] {
				break
			}
			p = p[:i]
			out[p] = true
		}
	}
	return out
}

// parseNode parses the YAML text into the node of its one document's
// content, reporting syntax errors, an empty document and a second one.
func parseNode(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FieldError{Msg: "no drill script (the document is empty)"}
		}
		return nil, syntaxError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(err)
	case len(extra.Content) > 0 && !isNull(extra.Content[0]):
		return nil, &FieldError{Line: extra.Content[0].Line, Msg: "a second YAML document; want one"}
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, &FieldError{Msg: "no drill script (the document is empty)"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &FieldError{Line: root.Line, Msg: "want a mapping of name, start and drills, got " + describe(root)}
	}
	return root, nil
}

var yamlLine = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error into a FieldError with its line.
func syntaxError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if line, convErr := strconv.Atoi(m[1]); convErr == nil {
			return &FieldError{Line: line, Msg: "invalid YAML: " + m[2]}
		}
	}
	return &FieldError{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}
