package main

import (
	"strings"
	"testing"
)

// TestNotesCommands: a supervisor notes a point of a recording and lists
// its notes; a bad -at is a usage error; an auditor may not write one.
func TestNotesCommands(t *testing.T) {
	k := startKirokud(t)
	if code, out, stderr := k.ctl(t, "sup", "recordings", "note", k.ids[0], "-text", "挨拶なし", "-at", "0:02.5"); code != 0 || !strings.Contains(out, "added at 0:02.5") {
		t.Fatalf("note: exit %d %q %q", code, out, stderr)
	}
	if code, _, stderr := k.ctl(t, "sup", "recordings", "note", k.ids[0], "-text", "x", "-at", "1:75"); code != exitUsage || !strings.Contains(stderr, "-at") {
		t.Errorf("bad -at: exit %d %q", code, stderr)
	}
	if code, _, stderr := k.ctl(t, "aud", "recordings", "note", k.ids[0], "-text", "x"); code != exitFail || !strings.Contains(stderr, "403") {
		t.Errorf("auditor's note: exit %d %q", code, stderr)
	}
	code, out, stderr := k.ctl(t, "sup", "recordings", "notes", k.ids[0])
	if code != 0 || !strings.HasPrefix(out, "WRITTEN") || !strings.Contains(out, "挨拶なし") || !strings.Contains(out, "0:02.5") || !strings.Contains(out, "sup") {
		t.Errorf("notes: exit %d\n%s%s", code, out, stderr)
	}
}
