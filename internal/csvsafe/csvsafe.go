package csvsafe

import (
	"bufio"
	"io"
	"strings"
)

// triggers are the first characters a spreadsheet takes a cell to be a
// formula (or to start one) by.
const triggers = "=+-@\t\r"

// Cell returns v as a spreadsheet shows it rather than runs it: with a
// leading single quote when it starts with = + - @, a tab or a carriage
// return.
func Cell(v string) string {
	if v != "" && strings.IndexByte(triggers, v[0]) >= 0 {
		return "'" + v
	}
	return v
}

// commentReplacer keeps a '#' line one line of one cell: line breaks,
// the separators spreadsheets split on, and the quote that would open a
// quoted cell become spaces or a single quote.
var commentReplacer = strings.NewReplacer("\r", " ", "\n", " ", ",", " ", ";", " ", "\t", " ", "\"", "'")

// Comment returns v fit to be quoted on a '#' comment line: one line,
// without commas, semicolons, tabs and double quotes, so that the line
// stays one cell starting with '#' — which no spreadsheet runs — and a
// caller "x,=1+2" reads "x =1+2".
func Comment(v string) string { return commentReplacer.Replace(v) }

// Writer writes CSV records with every cell defused (Cell) and quoted,
// lines ending in "\n". Like encoding/csv's Writer it buffers: Flush,
// then Error.
type Writer struct {
	w   *bufio.Writer
	err error
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriter(w)} }

// Write writes one record.
func (w *Writer) Write(record []string) error {
	if w.err != nil {
		return w.err
	}
	for i, v := range record {
		if i > 0 {
			w.w.WriteByte(',')
		}
		w.w.WriteByte('"')
		w.w.WriteString(strings.ReplaceAll(Cell(v), `"`, `""`))
		_, w.err = w.w.WriteString(`"`)
	}
	if w.err == nil {
		_, w.err = w.w.WriteString("\n")
	}
	return w.err
}

// Comment writes a '#' line: prefix, the project's own text, as it is
// (but for line breaks), and each of values made fit by Comment,
// separated by spaces.
func (w *Writer) Comment(prefix string, values ...string) error {
	if w.err != nil {
		return w.err
	}
	line := "# " + strings.NewReplacer("\r", " ", "\n", " ").Replace(prefix)
	for _, v := range values {
		line += " " + Comment(v)
	}
	_, w.err = w.w.WriteString(line + "\n")
	return w.err
}

// Flush writes what is buffered.
func (w *Writer) Flush() {
	if w.err == nil {
		w.err = w.w.Flush()
	}
}

// Error is the first error a Write, Comment or Flush met.
func (w *Writer) Error() error { return w.err }
