package access

import (
	"slices"
	"strings"
)

// The roles a token may hold and a purpose may name among its listeners.
const (
	Supervisor     = "supervisor"
	PrivacyOfficer = "privacy-officer"
	Auditor        = "auditor"
	Admin          = "admin"
)

// roles is the one list of roles, in the order the documentation gives
// them.
var roles = []string{Supervisor, PrivacyOfficer, Auditor, Admin}

// Roles returns every role, in the order the documentation lists them.
func Roles() []string { return slices.Clone(roles) }

// IsRole reports whether s is a role.
func IsRole(s string) bool { return slices.Contains(roles, s) }

// RoleList is the roles as a sentence ends them: "supervisor,
// privacy-officer, auditor or admin", for messages naming what is
// allowed.
func RoleList() string {
	return strings.Join(roles[:len(roles)-1], ", ") + " or " + roles[len(roles)-1]
}

// Principal is what the rules read of who is asking: the roles it holds
// and the clients it is scoped to (none: the lines run for no client).
type Principal struct {
	Roles   []string
	Clients []string
}

// Has reports whether p holds role.
func (p Principal) Has(role string) bool { return slices.Contains(p.Roles, role) }

// HasAny reports whether p holds one of roles.
func (p Principal) HasAny(roles ...string) bool { return slices.ContainsFunc(roles, p.Has) }

// Scoped reports whether p is scoped to clients.
func (p Principal) Scoped() bool { return len(p.Clients) > 0 }

// OutOfView reports whether client's data lies outside a scoped p's
// clients. An unscoped principal is never out of view by this test: its
// view is decided per route (ClientRoles, ClientAllows).
func (p Principal) OutOfView(client string) bool {
	return p.Scoped() && !slices.Contains(p.Clients, client)
}
