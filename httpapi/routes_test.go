package httpapi

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/access"
	"github.com/kiroku-voice/kiroku/apiclient"
)

// readmeRoute is a route as README.md's table gives it.
type readmeRoute struct {
	public   bool
	unscoped bool // a cell says "not scoped to clients"
	roles    []string
}

var routePattern = regexp.MustCompile("`((?:GET|HEAD|POST|PUT|PATCH|DELETE) /[^`]*)`")

// readmeRoutes parses the "| route | supervisor | …" table of README.md:
// each row whose first cell names routes (`METHOD /path`, several per
// row allowed) gives them the roles whose cell is neither "403" nor
// empty, or no roles at all when a cell says "no token needed"; a cell
// saying "not scoped to clients" makes them refused to scoped tokens. Rows
// naming no route (the caller= filter, caller numbers) are skipped.
func readmeRoutes(t *testing.T) (map[string]readmeRoute, []string) {
	t.Helper()
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cells := func(line string) []string {
		line = strings.TrimSpace(line)
		parts := strings.Split(strings.Trim(line, "|"), "|")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts
	}
	var header []string
	out := map[string]readmeRoute{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if header == nil {
			if c := cells(line); strings.HasPrefix(line, "|") && c[0] == "route" {
				header = c[1:]
			}
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break // the table ends
		}
		c := cells(line)
		if strings.Trim(c[0], "-") == "" {
			continue // the rule under the header
		}
		if len(c) != len(header)+1 {
			t.Fatalf("README.md: row %q has %d cells, the header %d", line, len(c), len(header)+1)
		}
		var rr readmeRoute
		for i, cell := range c[1:] {
			switch {
			case strings.Contains(cell, "no token needed"):
				rr.public = true
			case strings.Contains(cell, "not scoped to clients"):
				rr.unscoped = true
				rr.roles = append(rr.roles, header[i])
			case cell != "" && cell != "403":
				rr.roles = append(rr.roles, header[i])
			}
		}
		if rr.public {
			rr.roles = nil
		}
		for _, m := range routePattern.FindAllStringSubmatch(c[0], -1) {
			if _, dup := out[m[1]]; dup {
				t.Errorf("README.md: %s is listed twice", m[1])
			}
			out[m[1]] = rr
		}
	}
	if header == nil {
		t.Fatal("README.md: no | route | … | table")
	}
	return out, header
}

// TestReadmeRouteTable holds access's route table and README.md's
// against each other: a route in one and not the other, a role ticked
// in one and refused in the other, or a route refused to client-scoped
// tokens in one only, fails.
func TestReadmeRouteTable(t *testing.T) {
	doc, header := readmeRoutes(t)
	if !slices.Equal(header, access.Roles()) {
		t.Errorf("README.md's table has the role columns %v, want access.Roles() %v", header, access.Roles())
	}
	table := map[string]access.Route{}
	for _, r := range access.Routes() {
		table[r.Pattern] = r
		d, ok := doc[r.Pattern]
		switch {
		case !ok:
			t.Errorf("route %s is in access's table but not in README.md", r.Pattern)
		case d.public != r.Public:
			t.Errorf("route %s: README.md says public %v, access says %v", r.Pattern, d.public, r.Public)
		case !sameSet(d.roles, r.Roles):
			t.Errorf("route %s: README.md gives the roles %v, access %v", r.Pattern, d.roles, r.Roles)
		case d.unscoped != r.Unscoped:
			t.Errorf("route %s: README.md says \"not scoped to clients\" %v, access's Unscoped is %v", r.Pattern, d.unscoped, r.Unscoped)
		}
	}
	for p := range doc {
		if _, ok := table[p]; !ok {
			t.Errorf("route %s is in README.md but not in access's table", p)
		}
	}
}

// TestRoutesRegistered: the API registers every route of access's
// table, and no route outside it.
func TestRoutesRegistered(t *testing.T) {
	e := newEnv(t)
	var table []string
	for _, r := range access.Routes() {
		table = append(table, r.Pattern)
	}
	for _, p := range e.api.patterns {
		if !slices.Contains(table, p) {
			t.Errorf("httpapi registers %s, which access's table does not have", p)
		}
	}
	for _, p := range table {
		if !slices.Contains(e.api.patterns, p) {
			t.Errorf("access's table has %s, which httpapi does not register", p)
		}
	}
}

// TestGateRefusesUncheckedSuccess: a handler that answers without
// asking access (a.allow) sends a 500 and none of its body; one that
// asks gets through, and a refusal is whatever the handler sent.
func TestGateRefusesUncheckedSuccess(t *testing.T) {
	a := &API{log: zap.NewNop()}
	rt, _ := access.Lookup("GET /api/v1/calls")
	for _, c := range []struct {
		name     string
		allowed  bool
		code     int
		wantCode int
	}{
		{"unchecked success", false, http.StatusOK, http.StatusInternalServerError},
		{"unchecked refusal", false, http.StatusNotFound, http.StatusNotFound},
		{"checked success", true, http.StatusOK, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := a.gated(rt, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.allowed {
					gateOf(r).allowed = true
				}
				w.WriteHeader(c.code)
				w.Write([]byte("secret"))
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/calls", nil))
			if rec.Code != c.wantCode {
				t.Errorf("got %d, want %d", rec.Code, c.wantCode)
			}
			if leaked := strings.Contains(rec.Body.String(), "secret"); leaked == (c.wantCode == http.StatusInternalServerError) {
				t.Errorf("got body %q", rec.Body.String())
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestEveryRouteRefusesOtherRoles: for every route of access's table and
// every role it does not name, a well-formed call by a token holding
// only that role is 403 with the rule's answer, audited as denied.
func TestEveryRouteRefusesOtherRoles(t *testing.T) {
	e := newEnv(t)
	const id = "0192f3e4-5b6c-7d8e-9fa0-b1c2d3e4f5a6"
	// What each route needs to be well formed before its rule is asked.
	bodies := map[string]any{
		"POST /api/v1/clients/{client}/contract-end": map[string]any{"target": map[string]any{"kind": "zip"}},
		"POST /api/v1/contract-ends/{id}/confirm":    map[string]any{"sums": map[string]string{"a": "b"}},
		"PUT /api/v1/recordings/{id}/hold":           map[string]any{"reason": "test"},
		"DELETE /api/v1/recordings/{id}/hold":        map[string]any{"reason": "test"},
		"POST /api/v1/holds":                         map[string]any{"ids": []string{id}, "on": true, "reason": "test"},
		"POST /api/v1/recordings/{id}/notes":         map[string]any{"body": "test"},
	}
	queries := map[string]string{"GET /api/v1/incidents": "?actor=x", "GET /api/v1/calls/{id}/listen": "?reason=test"}
	tokenOf := map[string]string{access.Supervisor: "sup", access.PrivacyOfficer: "po", access.Auditor: "aud", access.Admin: "adm"}
	n := 0
	for _, rt := range access.Routes() {
		if rt.Public {
			continue
		}
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.NewReplacer("{id}", id, "{client}", "acme").Replace(path) + queries[rt.Pattern]
		for _, role := range access.Roles() {
			if slices.Contains(rt.Roles, role) {
				continue
			}
			n++
			t.Run(rt.Pattern+" as "+role, func(t *testing.T) {
				before := e.head()
				res, b := e.send(tokenOf[role], method, path, bodies[rt.Pattern])
				var got apiclient.Error
				json.Unmarshal(b, &got)
				if res.StatusCode != http.StatusForbidden || got.Error != rt.Answer {
					t.Fatalf("got %d %s, want 403 %q", res.StatusCode, b, rt.Answer)
				}
				if es := e.audit(before); len(es) != 1 || es[0].Action != "denied" || !strings.Contains(es[0].Detail, rt.Why) {
					t.Errorf("got audit %+v, want one denied entry saying %q", es, rt.Why)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no route refuses any role")
	}
}

// TestUnscopedRoutesRefuseScopedTokens: a route whose rule is Unscoped
// refuses a client-scoped token even when it holds the route's role.
func TestUnscopedRoutesRefuseScopedTokens(t *testing.T) {
	e := newEnvWith(t, t.TempDir(), mustFS(t), clientConfig(t, ""), nil)
	const id = "0192f3e4-5b6c-7d8e-9fa0-b1c2d3e4f5a6"
	scoped := map[string]string{access.PrivacyOfficer: "acme-po", access.Auditor: "acme-aud", access.Admin: "acme-adm"}
	n := 0
	for _, rt := range access.Routes() {
		if !rt.Unscoped {
			continue
		}
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.NewReplacer("{id}", id).Replace(path)
		for _, role := range rt.Roles {
			name, ok := scoped[role]
			if !ok {
				t.Fatalf("no scoped test token for role %s", role)
			}
			n++
			t.Run(rt.Pattern+" as "+name, func(t *testing.T) {
				res, b := e.send(name, method, path, nil)
				var got apiclient.Error
				json.Unmarshal(b, &got)
				if res.StatusCode != http.StatusForbidden || got.Error != rt.ScopedAnswer {
					t.Fatalf("got %d %s, want 403 %q", res.StatusCode, b, rt.ScopedAnswer)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no unscoped route")
	}
}
