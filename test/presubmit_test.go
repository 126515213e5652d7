package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/kiroku-voice/kiroku"

// pkg is what go list says of one of the module's packages.
type pkg struct {
	ImportPath   string
	Dir          string
	Name         string
	GoFiles      []string
	Imports      []string // direct, production code only
	Deps         []string // transitive, production code only
	TestImports  []string
	XTestImports []string
}

// rel is p's path inside the module ("." for the root).
func rel(p string) string {
	if p == module {
		return "."
	}
	return strings.TrimPrefix(p, module+"/")
}

// list runs go list over the module once.
func list(t *testing.T) map[string]*pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[rel(p.ImportPath)] = &p
	}
	return pkgs
}

// mustNot matches the one sentence of a doc.go that the presubmit reads:
// "It must not import sip, storage/... or catalog." — module-relative
// package paths, "/..." for a tree, separated by commas and "or"/"and".
var mustNot = regexp.MustCompile(`(?s)It must not import ([^.:;]+(?:\.\.\.[^.:;]*)*)[.:;]`)

// packageComment returns p's package comment, from whichever file holds
// it (doc.go by habit).
func packageComment(t *testing.T, p *pkg) string {
	t.Helper()
	for _, name := range p.GoFiles {
		f := filepath.Join(p.Dir, name)
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		if file.Doc != nil {
			return file.Doc.Text()
		}
	}
	return ""
}

// forbidden returns the patterns a package's comment forbids it to
// import.
func forbidden(t *testing.T, p *pkg) []string {
	t.Helper()
	return parseMustNot(packageComment(t, p))
}

// parseMustNot reads the patterns out of a package comment.
func parseMustNot(doc string) []string {
	doc = strings.Join(strings.Fields(doc), " ")
	var out []string
	for _, m := range mustNot.FindAllStringSubmatch(doc, -1) {
		list := strings.NewReplacer(" or ", ",", " and ", ",", " nor ", ",").Replace(m[1])
		for _, f := range strings.Split(list, ",") {
			f = strings.Trim(strings.TrimSpace(f), "`")
			if strings.Contains(f, " ") {
				break // prose after the list
			}
			if f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// matches tells whether module-relative package r falls under pattern.
func matches(pattern, r string) bool {
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return r == tree || strings.HasPrefix(r, tree+"/")
	}
	return r == pattern
}

// violation is one import that breaks a rule.
type violation struct{ from, to, rule string }

func (v violation) String() string { return fmt.Sprintf("%s imports %s: %s", v.from, v.to, v.rule) }

// check applies every layout rule to a package graph: from
// module-relative path to its production deps (transitive,
// module-relative, project packages only) and to the patterns its doc.go
// forbids.
func check(deps map[string][]string, rules map[string][]string) []violation {
	var out []violation
	for from, ds := range deps {
		for _, to := range ds {
			for _, pat := range rules[from] {
				if matches(pat, to) {
					out = append(out, violation{from, to, "its doc.go says it must not import " + pat})
				}
			}
			for _, r := range global {
				if r.applies(from) && matches(r.target, to) && !slices.ContainsFunc(r.allowed, func(a string) bool { return matches(a, from) || a == testSupport && isTestSupport(from) }) {
					out = append(out, violation{from, to, r.why})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// testSupport in a rule's allowed list stands for the packages that only
// tests import, named for what they support (catalog/catalogtest,
// storage/storetest).
const testSupport = "*test"

func isTestSupport(p string) bool { return strings.HasSuffix(path.Base(p), "test") }

// globalRule forbids target to every production package but allowed.
type globalRule struct {
	target  string
	allowed []string
	why     string
}

func (r globalRule) applies(string) bool { return true }

// global are the rules that no one package's doc.go can state.
var global = []globalRule{
	{"internal/testenv/...", []string{"internal/testenv/...", testSupport}, "test harnesses are for tests only"},
	{"cmd/...", []string{"cmd/..."}, "commands are not libraries"},
	{"storage/upload", []string{"internal/daemon", "cmd/kirokud"}, "only the daemon assembles the uploader; read recordings through the recording package"},
	{"test", nil, "the repository checks are not a library"},
}

// projectDeps keeps the module's own packages of p.Deps.
func projectDeps(p *pkg) []string {
	var out []string
	for _, d := range p.Deps {
		if d == module || strings.HasPrefix(d, module+"/") {
			out = append(out, rel(d))
		}
	}
	return out
}

// TestLayout holds every package to its doc.go's "It must not import"
// sentence and to the global rules, over transitive production imports.
func TestLayout(t *testing.T) {
	pkgs := list(t)
	deps, rules := map[string][]string{}, map[string][]string{}
	for r, p := range pkgs {
		deps[r] = projectDeps(p)
		rules[r] = forbidden(t, p)
		for _, pat := range rules[r] {
			found := false
			for q := range pkgs {
				found = found || matches(pat, q)
			}
			if !found {
				t.Errorf("%s/doc.go forbids %q, which names no package of the module (misspelt?)", r, pat)
			}
		}
	}
	for _, v := range check(deps, rules) {
		t.Error(v)
	}
}

// stdlibOnly are the packages that import the standard library alone:
// access (imported by internal/config and the API alike) and apiclient
// (which any client may vendor without the server or its dependencies).
var stdlibOnly = []string{"access", "apiclient"}

// TestStdlibOnly holds them to it, over transitive imports.
func TestStdlibOnly(t *testing.T) {
	pkgs := list(t)
	for _, r := range stdlibOnly {
		p, ok := pkgs[r]
		if !ok {
			t.Errorf("%s: no such package", r)
			continue
		}
		for _, d := range p.Deps {
			if first, _, _ := strings.Cut(d, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s: it imports the standard library only", r, d)
			}
		}
	}
}

// TestDocs: every package has a package comment that begins "Package
// <name> " (commands: "Command <name> ") and says what it owns.
func TestDocs(t *testing.T) {
	for r, p := range list(t) {
		if len(p.GoFiles) == 0 {
			continue
		}
		want := "Package " + p.Name + " "
		if p.Name == "main" {
			want = "Command " + path.Base(p.ImportPath) + " "
		}
		if doc := packageComment(t, p); !strings.HasPrefix(doc, want) {
			t.Errorf("%s: the package comment must begin %q; got %q", r, want, firstLine(doc))
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// sqlCall finds database/sql calls with a statement in production code.
var sqlCall = regexp.MustCompile(`\.(QueryContext|QueryRowContext|ExecContext|PrepareContext|Query|QueryRow|Exec|Prepare)\(`)

// sqlOwners may hold SQL: the catalog on its tables, the audit log on its
// own.
var sqlOwners = []string{"catalog/...", "audit"}

// TestNoSQLOutsideCatalog: every SQL statement on the catalog's tables
// lives in catalog.
func TestNoSQLOutsideCatalog(t *testing.T) {
	for r, p := range list(t) {
		if slices.ContainsFunc(sqlOwners, func(o string) bool { return matches(o, r) }) || !slices.Contains(p.Imports, "database/sql") && !importsSQLUser(p) {
			continue
		}
		for _, f := range p.GoFiles {
			scanSQL(t, r, filepath.Join(p.Dir, f))
		}
	}
}

// importsSQLUser: a package may run SQL through *sql.Tx values it is
// handed without importing database/sql itself; scan those that import
// the catalog too.
func importsSQLUser(p *pkg) bool {
	return slices.Contains(p.Imports, module+"/catalog")
}

func scanSQL(t *testing.T, r, file string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if sqlCall.MatchString(line) && (strings.Contains(line, "`") || strings.Contains(line, `"SELECT`) || strings.Contains(line, `"UPDATE`) || strings.Contains(line, `"INSERT`) || strings.Contains(line, `"DELETE`)) {
			t.Errorf("%s:%d: SQL outside catalog: %s", path.Join(r, filepath.Base(file)), n, strings.TrimSpace(line))
		}
	}
}

// literalAction finds an audit action written as a string: it compiles
// (an untyped constant), but bypasses the one list in audit.
var literalAction = regexp.MustCompile(`Action:\s*"`)

// TestAuditActionsNamed: code that writes audit entries names its
// actions by audit's constants.
func TestAuditActionsNamed(t *testing.T) {
	for r, p := range list(t) {
		if r == "audit" || !slices.Contains(p.Imports, module+"/audit") {
			continue
		}
		for _, f := range p.GoFiles {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			for n, line := range strings.Split(string(b), "\n") {
				if literalAction.MatchString(line) {
					t.Errorf("%s:%d: an audit action as a string literal; use audit.Action…: %s", path.Join(r, f), n+1, strings.TrimSpace(line))
				}
			}
		}
	}
}

// TestCheckCatches shows the presubmit failing on forbidden imports, each
// kind of rule once, and passing a clean graph.
func TestCheckCatches(t *testing.T) {
	tests := []struct {
		name  string
		deps  map[string][]string
		rules map[string][]string
		want  []string
	}{
		{"clean", map[string][]string{"media": {"internal/wav"}, "sip": {"media"}},
			map[string][]string{"media": {"sip", "storage/..."}}, nil},
		{"doc.go rule", map[string][]string{"media": {"internal/wav", "sip"}},
			map[string][]string{"media": parseMustNot("Package media plays audio.\n\nIt must not import sip,\nstorage/... or catalog.")},
			[]string{"media imports sip: its doc.go says it must not import sip"}},
		{"doc.go tree rule", map[string][]string{"sip": {"storage/s3"}},
			map[string][]string{"sip": {"storage/..."}},
			[]string{"sip imports storage/s3: its doc.go says it must not import storage/..."}},
		{"harness in test support", map[string][]string{"catalog/catalogtest": {"internal/testenv/pgtest"}}, nil, nil},
		{"harness in production", map[string][]string{"sip": {"internal/testenv/sipptest"}}, nil,
			[]string{"sip imports internal/testenv/sipptest: test harnesses are for tests only"}},
		{"uploader outside the daemon", map[string][]string{"retention": {"storage/upload"}, "internal/daemon": {"storage/upload"}}, nil,
			[]string{"retention imports storage/upload: only the daemon assembles the uploader; read recordings through the recording package"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range check(tt.deps, tt.rules) {
				got = append(got, v.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestParseMustNot reads the sentence as doc comments wrap it.
func TestParseMustNot(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"It must not import sip.", "sip"},
		{"It must not import sip, storage/... or catalog.", "sip storage/... catalog"},
		{"It must not import `sip`\nnor `httpapi`: the API sits above it.", "sip httpapi"},
		{"It must not speak HTTP.", ""},
		{"It must not import sip, which sits above it.", "sip"},
	}
	for _, tt := range tests {
		if got := strings.Join(parseMustNot(tt.doc), " "); got != tt.want {
			t.Errorf("parseMustNot(%q): got %q, want %q", tt.doc, got, tt.want)
		}
	}
}
