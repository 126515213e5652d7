package csvsafe

import (
	"encoding/csv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=1+2", "'=1+2"}, {"+81312345678", "'+81312345678"}, {"-2+3", "'-2+3"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"}, {"\r=1", "'\r=1"}, {"x,=1+2", "x,=1+2"}, {"0312345678", "0312345678"}, {"", ""}, {"'=1", "'=1"},
	} {
		if got := Cell(tc.in); got != tc.want {
			t.Errorf("Cell(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestWriter: what a caller chose as its From user part comes back from
// a CSV reader as one cell, defused; no cell starts with a trigger, none
// is unquoted (a semicolon locale would split "a;=1"), and '#' lines stay
// one line of one cell.
func TestWriter(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	w.Comment("caller:", "x,=1+2\n=evil")
	w.Write([]string{"x,=1+2", "=1+2", "a;=cmd|' /C calc'!A0", `say "hi"`, "-1"})
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	want := "# caller: x =1+2 =evil\n" + `"x,=1+2","'=1+2","a;=cmd|' /C calc'!A0","say ""hi""","'-1"` + "\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	r := csv.NewReader(strings.NewReader(b.String()))
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil || len(recs) != 1 || len(recs[0]) != 5 || recs[0][0] != "x,=1+2" || recs[0][1] != "'=1+2" {
		t.Errorf("read back %q, %v; want one record of 5 cells", recs, err)
	}
}

// TestOnlyWriter: no code of the project writes CSV but through Writer
// (a csv.NewWriter elsewhere would write cells undefused).
func TestOnlyWriter(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "csv.NewWriter(") {
			t.Errorf("%s writes CSV with encoding/csv: use csvsafe.NewWriter", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
