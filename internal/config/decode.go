package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder fills a Config from a YAML node tree, strictly: it reports every
// unknown or repeated key and every value of the wrong type, each with its
// line and key path. It replaces yaml.v3's struct decoding, whose
// KnownFields reports lines without key paths and which stops at the first
// error returned by an UnmarshalYAML method.
type decoder struct {
	*report
	set map[string]bool // keys given a non-null value
}

// decodeYAML parses data and decodes it into a new Config. A YAML syntax
// error is returned as err; problems with keys and values go to r.
func decodeYAML(data []byte, r *report) (c *Config, set map[string]bool, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%s: %w", r.file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		r.at(extra.Line, "", "a second YAML document; put the whole configuration in one")
	} else if !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%s: %w", r.file, err)
	}
	c = new(Config)
	d := decoder{report: r, set: map[string]bool{}}
	if len(doc.Content) > 0 {
		d.decode(doc.Content[0], reflect.ValueOf(c).Elem(), "")
	}
	return c, d.set, nil
}

// describe names what a node holds, for "want …, got …" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// fail records that the value at key could not be decoded.
func (d *decoder) fail(n *yaml.Node, key, format string, args ...any) {
	d.bad[key] = true
	line := d.pos[key]
	if line == 0 {
		line = n.Line
	}
	d.at(line, key, format, args...)
}

// decode stores n into v, which must be addressable.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, key string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if isNull(n) {
		return
	}
	d.set[key] = true
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		if err := u.UnmarshalYAML(n); err != nil {
			d.fail(n, key, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, key)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, key, "want a list, got %s", describe(n))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
		for i, item := range n.Content {
			k := index(key, i)
			d.pos[k] = item.Line
			d.decode(item, v.Index(i), k)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, key, "want a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil {
			d.fail(n, key, "want a decimal integer, got %s", describe(n))
			return
		}
		v.SetInt(int64(i))
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || err != nil {
			d.fail(n, key, "want true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		// A schema field of a kind this decoder does not handle is a bug
		// caught by TestSchemaKinds, never reachable from a file.
		panic(fmt.Sprintf("config: no YAML decoding for %s at %s", v.Type(), key))
	}
}

// mapping stores the mapping n into the struct v, field by yaml tag.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, key, "want a mapping, got %s", describe(n))
		return
	}
	fields := map[string]int{}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && name != "" && name != "-" {
			fields[name] = i
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		k := child(key, kn.Value)
		if first, ok := seen[kn.Value]; ok {
			d.at(kn.Line, k, "repeated key (first at line %d)", first)
			continue
		}
		seen[kn.Value] = kn.Line
		f, ok := fields[kn.Value]
		if !ok {
			d.at(kn.Line, k, "unknown key")
			continue
		}
		d.pos[k] = kn.Line
		d.decode(vn, v.Field(f), k)
	}
}
