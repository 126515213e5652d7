package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// table writes aligned columns.
type table struct {
	w *tabwriter.Writer
}

// newTable starts a table, with a header row when columns are given.
func newTable(out io.Writer, columns ...string) *table {
	t := &table{w: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
	if len(columns) > 0 {
		t.row(columns...)
	}
	return t
}

// row writes one row; tabs and newlines in cells become spaces.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
	}
	fmt.Fprintln(t.w, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.w.Flush() }

// writeJSON writes v indented.
func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeRaw writes an answer as it came, indented.
func writeRaw(out io.Writer, raw json.RawMessage) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	return writeJSON(out, v)
}

// writeFields prints a JSON object answer as a table of its fields, one
// a row in the answer's order: times in the -tz zone, lists and objects
// in one line of JSON. Anything else is written as it came.
func writeFields(g *globals, out io.Writer, raw json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return writeRaw(out, raw)
	}
	t := newTable(out)
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return writeRaw(out, raw)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return writeRaw(out, raw)
		}
		t.row(fmt.Sprint(key)+":", fieldCell(g, v))
	}
	return t.flush()
}

// writeRows prints a JSON export as tables: a list of objects as one
// table, one column per field of the first; an object as its other
// fields, then each of its lists of objects as a table under its name.
// Anything else is written as it came.
func writeRows(g *globals, out io.Writer, raw json.RawMessage) error {
	var rows []json.RawMessage
	if json.Unmarshal(raw, &rows) == nil {
		return writeList(g, out, rows, raw)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return writeRaw(out, raw)
	}
	type list struct {
		name string
		rows []json.RawMessage
	}
	var lists []list
	t := newTable(out)
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return writeRaw(out, raw)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return writeRaw(out, raw)
		}
		var rs []map[string]json.RawMessage
		if json.Unmarshal(v, &rs) == nil && len(v) > 0 && v[0] == '[' && (len(rs) == 0 || rs[0] != nil) {
			var l []json.RawMessage
			json.Unmarshal(v, &l)
			lists = append(lists, list{fmt.Sprint(key), l})
			continue
		}
		t.row(fmt.Sprint(key)+":", fieldCell(g, v))
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, l := range lists {
		fmt.Fprintf(out, "\n%s:\n", l.name)
		if err := writeList(g, out, l.rows, raw); err != nil {
			return err
		}
	}
	return nil
}

// writeList prints rows, JSON objects, as a table (raw as it came when
// they are not objects).
func writeList(g *globals, out io.Writer, rows []json.RawMessage, raw json.RawMessage) error {
	var cols []string
	if len(rows) > 0 {
		dec := json.NewDecoder(bytes.NewReader(rows[0]))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			return writeRaw(out, raw)
		}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return writeRaw(out, raw)
			}
			cols = append(cols, fmt.Sprint(key))
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return writeRaw(out, raw)
			}
		}
	}
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = strings.ToUpper(c)
	}
	t := newTable(out, head...)
	for _, r := range rows {
		var obj map[string]json.RawMessage
		if json.Unmarshal(r, &obj) != nil {
			return writeRaw(out, raw)
		}
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = fieldCell(g, obj[c])
		}
		t.row(cells...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintln(out, "(none)")
	}
	return nil
}

// fieldCell is one field's value as a table cell.
func fieldCell(g *globals, v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		if at, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return g.at(at)
		}
		return dash(s)
	}
	if len(v) == 0 || string(v) == "null" {
		return "-"
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// clock formats seconds as m:ss.
func clock(sec float64) string {
	s := int(sec + 0.5)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// dash is s, or "-" for an empty cell so that columns stay readable.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
