package main

import (
	"encoding/csv"
	"strings"
	"testing"
)

// TestRecordingsExport: recordings export writes the search's whole
// result as CSV with the search's filters, callers masked for a
// supervisor and in clear for a privacy officer, times in the -tz zone;
// a bad filter is the API's precise refusal.
func TestRecordingsExport(t *testing.T) {
	k := startKirokud(t)
	read := func(name string, args ...string) [][]string {
		t.Helper()
		code, out, stderr := k.ctl(t, name, append([]string{"recordings", "export"}, args...)...)
		if code != 0 {
			t.Fatalf("export %v as %s: exit %d %s", args, name, code, stderr)
		}
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(rows) == 0 || rows[0][0] != "id" {
			t.Fatalf("export %v: %v\n%s", args, err, out)
		}
		return rows
	}
	col := map[string]int{}
	for i, c := range read("po")[0] {
		col[c] = i
	}
	if rows := read("po", "-tz", "UTC"); len(rows) != 4 || rows[1][col["caller"]] != "0312345678" || !strings.HasSuffix(rows[1][col["started_at"]], "Z") {
		t.Errorf("a privacy officer's export: %q, want 3 recordings, callers in clear, times in UTC", rows)
	}
	rows := read("sup", "-sort", "started_at")
	if len(rows) != 3 || rows[1][col["caller"]] != "0312****78" || rows[1][col["id"]] != k.ids[0] {
		t.Errorf("a supervisor's export, oldest first: %q, want its 2 recordings, callers masked", rows)
	}
	if rows := read("po", "-hold", "held"); len(rows) != 1 {
		t.Errorf("held only: %q, want the header alone", rows)
	}
	if code, _, stderr := k.ctl(t, "po", "recordings", "export", "-hold", "maybe"); code != exitFail || !strings.Contains(stderr, "hold") {
		t.Errorf("a bad filter: exit %d %q", code, stderr)
	}
}
