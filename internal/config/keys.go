package config

import (
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Mapping keys: the keys of a struct's YAML mapping, duplicates, and merge
// keys (<<), which copy the keys of other mappings in.

// pair is one key of a mapping and its value.
type pair struct {
	key  string
	line int
	val  *yaml.Node
}

// pairs lists a mapping's keys in order, reporting keys that are not strings
// and keys written twice, and adds the keys merged in with "<<" that the
// mapping does not set itself (YAML's merge-key rule: what is written wins,
// then the first merged mapping that has the key).
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

// mergeSources returns the mappings a "<<" key merges: one mapping or a list
// of them.
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

// yamlFields maps a struct's yaml keys to its field indexes; the fields of
// a struct field tagged ",inline" are the outer struct's own.
func yamlFields(t reflect.Type) map[string][]int {
	fields := make(map[string][]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			for k, idx := range yamlFields(f.Type) {
				fields[k] = append([]int{i}, idx...)
			}
			continue
		}
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		fields[name] = []int{i}
	}
	return fields
}
