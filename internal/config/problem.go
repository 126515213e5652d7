package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a configuration, located by file, line
// and key path.
type Problem struct {
	File string // file name as given to Parse or Load; "" if unknown
	Line int    // 1-based line of the key, or of its nearest enclosing key; 0 if unknown
	Key  string // key path such as "lines[0].purpose"; "" for the whole document
	Msg  string // what is wrong
}

// Error formats p as "file:line: key: message", leaving out what is unknown.
func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in one configuration, ordered by line.
// Parse, Load, Default and Validate return it as their error when the
// configuration is invalid; use errors.As to get at the list.
type Problems []Problem

// Error lists the problems one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems as errors, for errors.Is and errors.As.
func (ps Problems) Unwrap() []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}

// positions maps key paths to the line they appear on.
type positions map[string]int

// line returns the line of key, or of its nearest enclosing key that has
// one, so that a missing key points at the mapping that lacks it.
func (ps positions) line(key string) int {
	for {
		if l, ok := ps[key]; ok {
			return l
		}
		if key == "" {
			return 0
		}
		key = parent(key)
	}
}

// parent returns the key path enclosing key: "a.b[2]" → "a.b" → "a" → "".
func parent(key string) string {
	if strings.HasSuffix(key, "]") {
		return key[:strings.LastIndexByte(key, '[')]
	}
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

// child returns the path of name under key.
func child(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}

// index returns the path of item i of the list at key.
func index(key string, i int) string {
	return fmt.Sprintf("%s[%d]", key, i)
}

// report collects problems while a configuration is decoded and checked.
type report struct {
	file  string
	pos   positions
	bad   map[string]bool // keys whose value could not be decoded
	probs Problems
}

// at records a problem at an explicit line.
func (r *report) at(line int, key, format string, args ...any) {
	r.probs = append(r.probs, Problem{File: r.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// add records a problem with key, located through the decoded positions.
// Problems under a key that failed to decode are dropped: the decode
// problem already says what is wrong, and the zero value left behind would
// only add noise.
func (r *report) add(key, format string, args ...any) {
	for k := key; ; k = parent(k) {
		if r.bad[k] {
			return
		}
		if k == "" {
			break
		}
	}
	r.at(r.pos.line(key), key, format, args...)
}

// err returns the collected problems ordered by line, or nil.
func (r *report) err() error {
	if len(r.probs) == 0 {
		return nil
	}
	sort.SliceStable(r.probs, func(i, j int) bool { return r.probs[i].Line < r.probs[j].Line })
	return r.probs
}
