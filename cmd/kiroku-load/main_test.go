package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestFlags: bad command lines exit 2 with a message and start nothing.
func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nosuch"}, "flag provided but not defined"},
		{"no calls", []string{"-calls", "0"}, "must be positive"},
		{"negative rate", []string{"-rate", "-5"}, "must be positive"},
		{"no hold", []string{"-hold", "0s"}, "must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tc.args, &out, &errb); code != 2 {
				t.Errorf("got exit %d, want 2", code)
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Errorf("got stderr %q, want it to mention %q", errb.String(), tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("got stdout %q, want nothing", out.String())
			}
		})
	}
}
