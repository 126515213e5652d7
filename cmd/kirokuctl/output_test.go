package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestWriteRows: the exports' JSON shapes print as tables, times in the
// zone; what is no list or object is written as it came.
func TestWriteRows(t *testing.T) {
	g := &globals{loc: time.UTC}
	for _, tc := range []struct {
		name, in string
		want     []string
		notWant  []string
	}{
		{"a list (provisions)", `[{"id":"p1","recipient":"Acme","provided_at":"2026-11-05T09:30:00+09:00","items":["a","b"]}]`,
			[]string{"ID  RECIPIENT  PROVIDED_AT", "p1  Acme       2026-11-05 00:30:00 UTC", `["a","b"]`}, []string{"{"}},
		{"an empty list", `[]`, []string{"(none)"}, nil},
		{"an object with a list (pseudonymised)", `{"key":"k1","removed":["caller number"],"calls":[{"record":"r1","caller":"c1"}]}`,
			[]string{"key:", "k1", `removed:  ["caller number"]`, "calls:\nRECORD  CALLER\nr1      c1"}, nil},
		{"neither", `"text"`, []string{`"text"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeRows(g, &b, []byte(tc.in)); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(b.String(), w) {
					t.Errorf("output holds %q:\n%s", w, b.String())
				}
			}
		})
	}
}
