package config

import (
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file decodes a yaml.Node tree into the Go types by walking it against
// their yaml tags, instead of letting yaml.v3 decode it: that way an unknown
// key, a duplicate key or a value of the wrong type is reported with its YAML
// path as well as its line, decoding goes on after the first problem, and a
// key that is not written keeps the default already in the struct.

// maxValues bounds the values decoded, counting a value again each time an
// alias or merge repeats it, so a few lines of nested aliases cannot make
// decoding run away.
const maxValues = 200_000

// maxMergeDepth bounds merge keys (<<) that merge mappings that merge others.
const maxMergeDepth = 8

// defaulter is implemented by the types whose fields have defaults; a new
// list element is given its defaults before it is decoded.
type defaulter interface{ setDefaults() }

var (
	durationType = reflect.TypeFor[time.Duration]()
	nodeType     = reflect.TypeFor[yaml.Node]()
)

// decoder walks a node tree into a value and collects the problems it meets.
type decoder struct {
	errs      problems
	budget    int
	exhausted bool
}

func newDecoder() *decoder { return &decoder{budget: maxValues} }

// decode decodes n into v; path is n's YAML path. A null leaves v as it is.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	line := n.Line
	n, ok := d.resolve(n, path)
	if !ok || !d.spend(1, path, line) || isNull(n) {
		return
	}
	switch {
	case v.Type() == nodeType:
		// Kept as written, for a later decode against other defaults.
		v.Set(reflect.ValueOf(*n))
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case v.Kind() == reflect.Bool:
		if d.scalar(n, line, path, "true or false") {
			var b bool
			if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
				d.errs.addLine(path, line, "cannot parse %s as true or false", quote(n.Value))
				return
			}
			v.SetBool(b)
		}
	case v.Type() == durationType:
		if d.scalar(n, line, path, "a duration") {
			dur, err := time.ParseDuration(n.Value)
			if err != nil {
				d.errs.addLine(path, line, "cannot parse %s as a duration", quote(n.Value))
				return
			}
			v.SetInt(int64(dur))
		}
	case v.Kind() == reflect.String:
		if d.scalar(n, line, path, "a string") {
			v.SetString(n.Value)
		}
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		d.integer(n, line, v, path)
	case v.Kind() == reflect.Float64:
		d.float(n, line, v, path)
	case v.Kind() == reflect.Struct:
		d.structure(n, line, v, path)
	case v.Kind() == reflect.Slice:
		d.list(n, line, v, path)
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		d.dict(n, line, v, path)
	default:
		// Only reachable when a field of a type this file does not know is
		// added to the model; the tests decode every field.
		d.errs.addLine(path, line, "cannot decode into %s", v.Type())
	}
}

// resolve follows an alias to the node it names.
func (d *decoder) resolve(n *yaml.Node, path string) (*yaml.Node, bool) {
	for range maxMergeDepth {
		if n.Kind != yaml.AliasNode {
			return n, true
		}
		if n.Alias == nil {
			break
		}
		n = n.Alias
	}
	if n.Kind != yaml.AliasNode {
		return n, true
	}
	d.errs.addLine(path, n.Line, "cannot resolve alias %s", quote(n.Value))
	return nil, false
}

// spend takes n values from the budget and reports, once, when it runs out.
func (d *decoder) spend(n int, path string, line int) bool {
	if d.budget >= n {
		d.budget -= n
		return true
	}
	d.budget = 0
	if !d.exhausted {
		d.exhausted = true
		d.errs.addLine(path, line, "too many values (more than %d, counting every alias expansion)", maxValues)
	}
	return false
}

// scalar reports whether n is a scalar, and a problem when it is not.
func (d *decoder) scalar(n *yaml.Node, line int, path, want string) bool {
	if n.Kind == yaml.ScalarNode {
		return true
	}
	d.errs.addLine(path, line, "want %s, got %s", want, describe(n))
	return false
}

func (d *decoder) integer(n *yaml.Node, line int, v reflect.Value, path string) {
	if !d.scalar(n, line, path, "an integer") {
		return
	}
	var x int64
	if n.ShortTag() != "!!int" || n.Decode(&x) != nil {
		d.errs.addLine(path, line, "cannot parse %s as an integer", quote(n.Value))
		return
	}
	if v.OverflowInt(x) {
		d.errs.addLine(path, line, "integer %s out of range", quote(n.Value))
		return
	}
	v.SetInt(x)
}

func (d *decoder) float(n *yaml.Node, line int, v reflect.Value, path string) {
	if !d.scalar(n, line, path, "a number") {
		return
	}
	var x float64
	if tag := n.ShortTag(); tag != "!!int" && tag != "!!float" || n.Decode(&x) != nil {
		d.errs.addLine(path, line, "cannot parse %s as a number", quote(n.Value))
		return
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		d.errs.addLine(path, line, "want a finite number, got %s", quote(n.Value))
		return
	}
	v.SetFloat(x)
}

func (d *decoder) structure(n *yaml.Node, line int, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errs.addLine(path, line, "want a mapping, got %s", describe(n))
		return
	}
	fields := yamlFields(v.Type())
	for _, p := range d.pairs(n, path, 0) {
		i, ok := fields[p.key]
		if !ok {
			d.errs.addLine(joinPath(path, p.key), p.line, "unknown key")
			continue
		}
		d.decode(p.val, v.FieldByIndex(i), joinPath(path, p.key))
	}
}

func (d *decoder) list(n *yaml.Node, line int, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errs.addLine(path, line, "want a list, got %s", describe(n))
		return
	}
	if !d.spend(len(n.Content), path, line) {
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		elem := s.Index(i)
		if df, ok := elem.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(item, elem, indexPath(path, i))
	}
	v.Set(s)
}

func (d *decoder) dict(n *yaml.Node, line int, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errs.addLine(path, line, "want a mapping, got %s", describe(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, p := range d.pairs(n, path, 0) {
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(p.val, elem, joinPath(path, p.key))
		m.SetMapIndex(reflect.ValueOf(p.key).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return quote(n.Value)
	default:
		return "nothing"
	}
}

// quote quotes a value for a message, shortening a long one.
func quote(s string) string {
	const limit = 80
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}
