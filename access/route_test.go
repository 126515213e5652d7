package access

import (
	"slices"
	"strings"
	"testing"
)

// TestRouteTable: every route is one "METHOD /path" pattern, listed
// once, public or naming roles that exist, with the texts a refusal
// needs.
func TestRouteTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Routes() {
		t.Run(r.Pattern, func(t *testing.T) {
			method, path, ok := strings.Cut(r.Pattern, " ")
			if !ok || !slices.Contains([]string{"GET", "POST", "PUT", "DELETE"}, method) || !strings.HasPrefix(path, "/") {
				t.Errorf("got pattern %q, want METHOD /path", r.Pattern)
			}
			if seen[r.Pattern] {
				t.Errorf("%s is listed twice", r.Pattern)
			}
			seen[r.Pattern] = true
			switch {
			case r.Public && len(r.Roles) > 0:
				t.Errorf("public, yet names roles %v", r.Roles)
			case !r.Public && len(r.Roles) == 0:
				t.Error("neither public nor open to any role")
			case !r.Public && (r.Why == "" || r.Answer == ""):
				t.Error("no Why or Answer for a refusal")
			case r.Unscoped && (r.ScopedWhy == "" || r.ScopedAnswer == ""):
				t.Error("unscoped, but no ScopedWhy or ScopedAnswer")
			}
			for _, role := range r.Roles {
				if !IsRole(role) {
					t.Errorf("names %q, not a role", role)
				}
			}
			if got, ok := Lookup(r.Pattern); !ok || got.Pattern != r.Pattern {
				t.Errorf("Lookup: got %v %v", got.Pattern, ok)
			}
		})
	}
	if _, ok := Lookup("GET /api/v1/nothing"); ok {
		t.Error("Lookup of an unknown route: got ok")
	}
}

// TestCheck: who may call what, by role and scope.
func TestCheck(t *testing.T) {
	un := func(roles ...string) Principal { return Principal{Roles: roles} }
	acme := func(roles ...string) Principal { return Principal{Roles: roles, Clients: []string{"acme"}} }
	for _, c := range []struct {
		name    string
		route   string
		p       Principal
		allowed bool
		why     string
	}{
		{"health without a token", "GET /healthz", Principal{}, true, ""},
		{"UI without a token", "GET /{$}", Principal{}, true, ""},
		{"me for an auditor", "GET /api/v1/me", un(Auditor), true, ""},
		{"search for a scoped admin", "GET /api/v1/recordings", acme(Admin), true, ""},
		{"search with no role", "GET /api/v1/recordings", Principal{Roles: []string{"root"}}, false, "a route open to every role, and the token holds none"},
		{"hold by a supervisor", "PUT /api/v1/recordings/{id}/hold", un(Supervisor), false, "legal hold without the privacy-officer role"},
		{"hold by a privacy officer", "DELETE /api/v1/recordings/{id}/hold", un(PrivacyOfficer), true, ""},
		{"hold by a scoped privacy officer", "PUT /api/v1/recordings/{id}/hold", acme(PrivacyOfficer), true, ""},
		{"audit by an auditor", "GET /api/v1/audit", un(Auditor), true, ""},
		{"audit by a supervisor", "GET /api/v1/audit/verify", un(Supervisor), false, "audit log without the auditor role"},
		{"audit by a scoped auditor", "GET /api/v1/audit", acme(Auditor), false, "audit log with a token scoped to clients"},
		{"calls by an admin", "GET /api/v1/calls", un(Admin), true, ""},
		{"pause by an auditor", "POST /api/v1/calls/{id}/pause", un(Auditor), false, "calls in progress without the supervisor or admin role"},
		{"incidents by a scoped auditor", "GET /api/v1/incidents", acme(Auditor), true, ""},
		{"incidents by an admin", "GET /api/v1/incidents", un(Admin), false, "incident report without privacy-officer or auditor"},
		{"contract end by a privacy officer", "POST /api/v1/clients/{client}/contract-end", un(PrivacyOfficer), false, "contract end without the role admin"},
		{"contract end by a scoped admin", "GET /api/v1/clients/{client}/contract-end", acme(Admin), true, ""},
		{"contract-end list by an auditor", "GET /api/v1/contract-ends", un(Auditor), true, ""},
		{"certificate by a supervisor", "GET /api/v1/contract-ends/{id}/certificate", un(Supervisor), false, "contract end without the role admin or privacy-officer or auditor"},
		{"requests by a privacy officer", "POST /api/v1/requests", un(PrivacyOfficer), true, ""},
		{"requests by a scoped privacy officer", "GET /api/v1/requests", acme(PrivacyOfficer), false, "data-subject requests with a token scoped to clients"},
		{"requests by an admin", "POST /api/v1/requests/{id}/erase", un(Admin), false, "data-subject requests need privacy-officer"},
		{"several roles, one enough", "GET /api/v1/audit", un(Supervisor, Auditor), true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, ok := Lookup(c.route)
			if !ok {
				t.Fatalf("no route %s", c.route)
			}
			d := r.Check(c.p)
			switch {
			case c.allowed && d != nil:
				t.Errorf("got refused (%s), want allowed", d.Why)
			case !c.allowed && d == nil:
				t.Error("got allowed, want refused")
			case !c.allowed && d.Why != c.why:
				t.Errorf("got why %q, want %q", d.Why, c.why)
			}
			if got := Allows(c.p, c.route); got != c.allowed {
				t.Errorf("Allows: got %v, want %v", got, c.allowed)
			}
		})
	}
}
