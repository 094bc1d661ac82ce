package config

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

// Load reads, decodes and validates the configuration file at path; see
// [Parse]. A file that cannot be read gives an error that does not match
// [ErrInvalid]. The problems in a file that can be read do not repeat its
// name: say which file when you print them.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return Parse(data)
}

// Parse decodes and validates one YAML document. Keys not written get their
// defaults; an unknown key, a value of the wrong type, a duplicate key, and
// every problem [Config.Validate] finds are all reported together in one
// error, which joins a [*FieldError] per problem and matches [ErrInvalid].
func Parse(data []byte) (*Config, error) {
	root, err := parseNode(data)
	if err != nil {
		return nil, errors.Join(err)
	}
	c := &Config{}
	c.setDefaults()
	d := newDecoder()
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	c.kindDefaults()

	errs := d.errs
	var found problems
	c.validate(&found)
	undecoded := d.typeErrorPaths()
	for _, e := range found {
		// A value that could not be decoded was left at its default or
		// zero; what validation says about it, or about what is under it,
		// would only repeat the problem.
		if !under(e.(*FieldError).Path, undecoded) {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}
	return c, nil
}

// Decode decodes one YAML document into v, a pointer to a struct with yaml
// tags, the way Parse decodes a configuration: an unknown key, a duplicate
// key or a value of the wrong type is a [*FieldError] naming its YAML path
// and line, all reported together in one error that matches [ErrInvalid];
// a key not written keeps what v holds. A yaml.Node field keeps its part
// of the document as written. what says what the document should be, for
// the error when it is empty or not a mapping ("a drill script"). Other
// bidwatch files (drill scripts, scenario files) are read with it.
func Decode(data []byte, v any, what string) error {
	root, err := parseDocument(data, what)
	if err != nil {
		return errors.Join(err)
	}
	return DecodeNode(root, v, "")
}

// DecodeNode decodes n into v as Decode does; path is n's YAML path, put
// before every problem's.
func DecodeNode(n *yaml.Node, v any, path string) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("decode %s: want a non-nil pointer, got %T", path, v)
	}
	d := newDecoder()
	d.decode(n, rv.Elem(), path)
	if len(d.errs) > 0 {
		return d.errs.err()
	}
	return nil
}

// typeErrorPaths returns the paths where a value could not be decoded.
func (d *decoder) typeErrorPaths() map[string]bool {
	paths := map[string]bool{}
	for _, e := range d.errs {
		fe := e.(*FieldError)
		if fe.Msg != "unknown key" && !strings.HasPrefix(fe.Msg, "duplicate key") {
			paths[fe.Path] = true
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

// parseNode parses the YAML text of a configuration into the node of its
// one document's content, reporting syntax errors, an empty document and a
// second one.
func parseNode(data []byte) (*yaml.Node, error) {
	return parseDocument(data, "")
}

// parseDocument parses one YAML document that must be a mapping; what says
// what it should be ("" for a configuration).
func parseDocument(data []byte, what string) (*yaml.Node, error) {
	empty := "no configuration (the document is empty)"
	want := "want a mapping of city, sub_centers, servers, rooms and probe, got "
	if what != "" {
		empty = "the document is empty: want " + what
		want = "want " + what + " (a mapping), got "
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FieldError{Msg: empty}
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
		return nil, &FieldError{Msg: empty}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &FieldError{Line: root.Line, Msg: want + describe(root)}
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
