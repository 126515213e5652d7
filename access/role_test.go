package access

import (
	"slices"
	"testing"
)

func TestRoles(t *testing.T) {
	if got, want := Roles(), []string{"supervisor", "privacy-officer", "auditor", "admin"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	Roles()[0] = "root" // a copy: the list cannot be changed from outside
	for _, c := range []struct {
		role string
		want bool
	}{
		{"supervisor", true}, {"privacy-officer", true}, {"auditor", true}, {"admin", true},
		{"root", false}, {"", false}, {"Supervisor", false}, {"privacy_officer", false},
	} {
		t.Run(c.role, func(t *testing.T) {
			if got := IsRole(c.role); got != c.want {
				t.Errorf("IsRole(%q): got %v, want %v", c.role, got, c.want)
			}
		})
	}
	if got, want := RoleList(), "supervisor, privacy-officer, auditor or admin"; got != want {
		t.Errorf("RoleList: got %q, want %q", got, want)
	}
}

func TestPrincipal(t *testing.T) {
	for _, c := range []struct {
		name                  string
		p                     Principal
		client                string
		scoped, out, has, any bool
	}{
		{"unscoped supervisor", Principal{Roles: []string{Supervisor}}, "acme", false, false, true, true},
		{"scoped to acme", Principal{Roles: []string{Auditor}, Clients: []string{"acme"}}, "acme", true, false, false, true},
		{"scoped to globex", Principal{Roles: []string{Admin}, Clients: []string{"globex"}}, "acme", true, true, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.Scoped(); got != c.scoped {
				t.Errorf("Scoped: got %v, want %v", got, c.scoped)
			}
			if got := c.p.OutOfView(c.client); got != c.out {
				t.Errorf("OutOfView(%q): got %v, want %v", c.client, got, c.out)
			}
			if got := c.p.Has(Supervisor); got != c.has {
				t.Errorf("Has(supervisor): got %v, want %v", got, c.has)
			}
			if got := c.p.HasAny(Supervisor, Auditor); got != c.any {
				t.Errorf("HasAny(supervisor, auditor): got %v, want %v", got, c.any)
			}
		})
	}
}
