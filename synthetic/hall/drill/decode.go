package drill

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/bidwatch/bidwatch/synthetic/hall"
)

// This file decodes a yaml.Node tree into a Script by walking it against
// the types' yaml tags (json tags for the hall's Fault and Health, whose
// keys are the admin API's), as internal/config does: an unknown key, a
// duplicate key or a value of the wrong type is reported with its YAML path
// and line, decoding goes on after the first problem, and the line of every
// value is kept so that validation can name it too.

// maxValues bounds the values decoded, counting a value again each time an
// alias or merge repeats it, so a few lines of nested aliases cannot make
// decoding run away.
const maxValues = 100_000

// maxMergeDepth bounds aliases of aliases and merges of merges.
const maxMergeDepth = 8

var (
	durationType = reflect.TypeFor[time.Duration]()
	faultType    = reflect.TypeFor[Fault]()
)

// decoder walks a node tree into a value and collects the problems it meets.
type decoder struct {
	errs      *problems
	lines     map[string]int
	budget    int
	exhausted bool
}

func newDecoder(errs *problems) *decoder {
	return &decoder{errs: errs, lines: errs.lines, budget: maxValues}
}

// decode decodes n into v; path is n's YAML path and line the line of its
// key (or of n itself, in a list). A null leaves v as it is.
func (d *decoder) decode(n *yaml.Node, line int, v reflect.Value, path string) {
	d.lines[path] = line
	n, ok := d.resolve(n, path)
	if !ok || !d.spend(1, path, line) || isNull(n) {
		return
	}
	switch {
	case v.Type() == durationType:
		if d.scalar(n, line, path, "a duration") {
			dur, err := time.ParseDuration(n.Value)
			if err != nil {
				d.errs.addLine(path, line, "cannot parse %s as a duration (like 90s or 1m30s)", quote(n.Value))
				return
			}
			v.SetInt(int64(dur))
		}
	case v.Type() == faultType:
		d.fault(n, line, v.Addr().Interface().(*Fault), path)
	case v.Kind() == reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(n, line, p.Elem(), path)
		v.Set(p)
	case v.Kind() == reflect.String:
		if d.scalar(n, line, path, "a string") {
			v.SetString(n.Value)
		}
	case v.Kind() == reflect.Bool:
		if d.scalar(n, line, path, "true or false") {
			var b bool
			if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
				d.errs.addLine(path, line, "want true or false, got %s", quote(n.Value))
				return
			}
			v.SetBool(b)
		}
	case v.Kind() == reflect.Int:
		d.integer(n, line, v, path)
	case v.Kind() == reflect.Float64:
		d.float(n, line, v, path)
	case v.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errs.addLine(path, line, "want a mapping, got %s", describe(n))
			return
		}
		keys, fields := tagFields(v)
		d.mapping(n, path, fields, func(string) string { return "unknown key (want " + oneOf(keys...) + ")" })
	case v.Kind() == reflect.Slice:
		d.list(n, line, v, path)
	default:
		// Only reachable when a field of a type this file does not know is
		// added to the model; the tests decode every field.
		d.errs.addLine(path, line, "cannot decode into %s", v.Type())
	}
}

// mapping decodes the keys of n into fields; unknown says what is wrong
// with a key that has no field.
func (d *decoder) mapping(n *yaml.Node, path string, fields map[string]reflect.Value, unknown func(key string) string) {
	for _, p := range d.pairs(n, path, 0) {
		f, ok := fields[p.key]
		if !ok {
			d.errs.addLine(joinPath(path, p.key), p.line, "%s", unknown(p.key))
			continue
		}
		d.decode(p.val, p.line, f, joinPath(path, p.key))
	}
}

// Keys of a fault: the one that says what it acts on, and those that are
// never written in a drill.
var (
	faultKinds  = []string{"server", "room", "path"}
	notInADrill = map[string]string{
		"duration_ms": "not used in a drill: the drill's hold says how long",
	}
)

// fault decodes one fault: exactly one of server, room or path, and the
// fields that kind takes.
func (d *decoder) fault(n *yaml.Node, line int, f *Fault, path string) {
	if n.Kind != yaml.MappingNode {
		d.errs.addLine(path, line, "want a mapping with one of server, room or path, got %s", describe(n))
		return
	}
	pairs := d.pairs(n, path, 0)
	var kinds []string
	for _, k := range faultKinds {
		for _, p := range pairs {
			if p.key == k {
				kinds = append(kinds, k)
			}
		}
	}
	switch len(kinds) {
	case 0:
		d.errs.addLine(path, line, "want one of server, room or path: what the fault acts on")
		return
	case 1:
	default:
		d.errs.addLine(path, line, "%s in one fault: want one of server, room or path (write a fault for each)", allOf(kinds...))
		return
	}
	var keys []string
	var fields map[string]reflect.Value
	switch kinds[0] {
	case "server":
		keys, fields = tagFields(reflect.ValueOf(&f.Health).Elem())
		fields["server"] = reflect.ValueOf(&f.Server).Elem()
		fields["rooms_fault"] = reflect.ValueOf(&f.RoomsFault).Elem()
		keys = append(append([]string{"server"}, keys...), "rooms_fault")
	case "room":
		keys, fields = tagFields(reflect.ValueOf(&f.RoomFault).Elem())
		fields["room"] = reflect.ValueOf(&f.Room).Elem()
		keys = append([]string{"room"}, keys...)
	case "path":
		keys = []string{"path", "delay", "cut"}
		fields = map[string]reflect.Value{
			"path":  reflect.ValueOf(&f.Path).Elem(),
			"delay": reflect.ValueOf(&f.Delay).Elem(),
			"cut":   reflect.ValueOf(&f.Cut).Elem(),
		}
	}
	keys = withoutDrillless(keys)
	for k := range notInADrill {
		delete(fields, k)
	}
	unknown := func(key string) string {
		if msg, ok := notInADrill[key]; ok {
			return msg
		}
		return "unknown key (a " + kinds[0] + " fault takes " + oneOf(keys...) + ")"
	}
	for _, p := range pairs {
		kp := joinPath(path, p.key)
		fv, ok := fields[p.key]
		switch {
		case !ok:
			d.errs.addLine(kp, p.line, "%s", unknown(p.key))
		case p.key == "rooms_fault":
			d.lines[kp] = p.line
			rf := &hall.Fault{}
			val, ok := d.resolve(p.val, kp)
			if !ok || isNull(val) {
				continue
			}
			if val.Kind != yaml.MappingNode {
				d.errs.addLine(kp, p.line, "want a mapping of room fault fields, got %s", describe(val))
				continue
			}
			rkeys, rfields := tagFields(reflect.ValueOf(rf).Elem())
			rkeys = withoutDrillless(rkeys)
			for k := range notInADrill {
				delete(rfields, k)
			}
			d.mapping(val, kp, rfields, func(key string) string {
				if msg, ok := notInADrill[key]; ok {
					return msg
				}
				return "unknown key (a room fault takes " + oneOf(rkeys...) + ")"
			})
			fv.Set(reflect.ValueOf(rf))
		default:
			d.decode(p.val, p.line, fv, kp)
		}
	}
}

// withoutDrillless drops the keys never written in a drill.
func withoutDrillless(keys []string) []string {
	out := keys[:0:0]
	for _, k := range keys {
		if _, no := notInADrill[k]; !no {
			out = append(out, k)
		}
	}
	return out
}

// tagFields maps the keys of a struct to its fields, in order: the yaml
// tag's name, else the json tag's; embedded structs' fields are promoted.
func tagFields(v reflect.Value) ([]string, map[string]reflect.Value) {
	var keys []string
	fields := map[string]reflect.Value{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(v.Field(i))
				continue
			}
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("yaml")
			if tag == "" {
				tag = f.Tag.Get("json")
			}
			name, _, _ := strings.Cut(tag, ",")
			if name == "" || name == "-" {
				continue
			}
			if _, dup := fields[name]; !dup {
				keys = append(keys, name)
				fields[name] = v.Field(i)
			}
		}
	}
	walk(v)
	return keys, fields
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
		d.decode(item, item.Line, s.Index(i), indexPath(path, i))
	}
	v.Set(s)
}

// pair is one key of a mapping and its value.
type pair struct {
	key  string
	line int
	val  *yaml.Node
}

// pairs lists a mapping's keys in order, reporting keys that are not
// strings and keys written twice, and adds the keys merged in with "<<"
// that the mapping does not set itself.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	if !d.spend(len(n.Content)/2, path, n.Line) {
		return nil
	}
	var out []pair
	var merges []*yaml.Node
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		line := kn.Line
		kn, ok := d.resolve(kn, path)
		if !ok {
			continue
		}
		if kn.Kind != yaml.ScalarNode {
			d.errs.addLine(path, line, "want a string key, got %s", describe(kn))
			continue
		}
		if kn.ShortTag() == "!!merge" {
			merges = append(merges, vn)
			continue
		}
		if first, dup := seen[kn.Value]; dup {
			d.errs.addLine(joinPath(path, kn.Value), line, "duplicate key (first at line %d)", first)
			continue
		}
		seen[kn.Value] = line
		out = append(out, pair{key: kn.Value, line: line, val: vn})
	}
	for _, m := range merges {
		for _, src := range d.mergeSources(m, path, depth) {
			for _, p := range d.pairs(src, path, depth+1) {
				if _, dup := seen[p.key]; !dup {
					seen[p.key] = p.line
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// mergeSources returns the mappings a "<<" key merges: one mapping or a
// list of them.
func (d *decoder) mergeSources(m *yaml.Node, path string, depth int) []*yaml.Node {
	line := m.Line
	mergePath := joinPath(path, "<<")
	if depth >= maxMergeDepth {
		d.errs.addLine(mergePath, line, "merges nested more than %d deep", maxMergeDepth)
		return nil
	}
	m, ok := d.resolve(m, mergePath)
	if !ok || !d.spend(1, mergePath, line) {
		return nil
	}
	items := []*yaml.Node{m}
	if m.Kind == yaml.SequenceNode {
		items = m.Content
	}
	var out []*yaml.Node
	for _, item := range items {
		item, ok := d.resolve(item, mergePath)
		if !ok {
			continue
		}
		if item.Kind != yaml.MappingNode {
			d.errs.addLine(mergePath, line, "want a mapping or a list of mappings to merge, got %s", describe(item))
			continue
		}
		out = append(out, item)
	}
	return out
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
