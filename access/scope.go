package access

import (
	"fmt"
	"slices"
)

// Purpose is what the scope rules read of a configured purpose: its name
// and the roles it names among its listeners.
type Purpose struct {
	Name        string
	Description string
	Listeners   []string
}

// Client is what the scope rules read of a configured client (the
// company a line is run for): its id and the roles its limits allow
// (none listed: every role).
type Client struct {
	ID    string
	Roles []string
}

// allows reports whether the client's limits let role see its data.
func (c Client) allows(role string) bool { return len(c.Roles) == 0 || slices.Contains(c.Roles, role) }

// Policy is the part of the configuration in force that the scope rules
// read. Build one per request from the configuration (it is swapped on
// reload).
type Policy struct {
	Purposes []Purpose
	Clients  []Client
}

// Purpose returns the purpose called name.
func (pol Policy) Purpose(name string) (Purpose, bool) {
	i := slices.IndexFunc(pol.Purposes, func(p Purpose) bool { return p.Name == name })
	if i < 0 {
		return Purpose{}, false
	}
	return pol.Purposes[i], true
}

// Client returns the client with id.
func (pol Policy) Client(id string) (Client, bool) {
	i := slices.IndexFunc(pol.Clients, func(c Client) bool { return c.ID == id })
	if i < 0 {
		return Client{}, false
	}
	return pol.Clients[i], true
}

// ClientRoles returns the roles through which p may see the recordings
// and calls of client ("" for lines run for no client), or why it may
// not see them at all: a client's data only through a token scoped to
// that client, and through the roles the client's limits allow; the
// lines of no client only through an unscoped token, with all its roles.
func (pol Policy) ClientRoles(p Principal, client string) ([]string, string) {
	switch {
	case client == "" && p.Scoped():
		return nil, fmt.Sprintf("line run for no client; the token is scoped to clients %v", p.Clients)
	case client == "":
		return p.Roles, ""
	case !slices.Contains(p.Clients, client) && !p.Scoped():
		return nil, fmt.Sprintf("line run for client %q; the token is scoped to no client (it sees lines run for no client only)", client)
	case !slices.Contains(p.Clients, client):
		return nil, fmt.Sprintf("line run for client %q; the token is scoped to clients %v", client, p.Clients)
	}
	cl, ok := pol.Client(client)
	if !ok {
		return nil, fmt.Sprintf("client %q is not configured", client)
	}
	var out []string
	for _, r := range p.Roles {
		if cl.allows(r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Sprintf("client %q's limits allow none of the roles %v", client, p.Roles)
	}
	return out, ""
}

// Use is how far a recording may be used, by its catalog state.
type Use int

// Uses.
const (
	Unusable  Use = iota // being purged, purged, not yet stored: no one sees it
	InUse                // stored
	StopOfUse            // restricted by a stop-of-use request: privacy officers only
)

// Recording is what the scope rules read of a recording.
type Recording struct {
	Purpose string
	Client  string
	// State is the catalog state, named in a refusal; Use is what it
	// means here.
	State string
	Use   Use
}

// Grant is what a principal may do with one recording.
type Grant struct {
	OK bool
	// Privacy: through the privacy-officer role, so the caller number
	// is shown in clear and a restricted recording is visible.
	Privacy bool
	// Why, when !OK, for the audit entry.
	Why string
}

// Grant applies the rule for one recording: it is visible to a
// principal holding a role its purpose names among its listeners; a
// recording of a client's line only to a principal scoped to that
// client, through a role the client's limits allow, and one of no
// client only to an unscoped principal; a restricted (stop of use) one
// only through the privacy-officer role; other states to no one.
func (pol Policy) Grant(p Principal, rec Recording) Grant {
	purpose, ok := pol.Purpose(rec.Purpose)
	if !ok {
		return Grant{Why: fmt.Sprintf("purpose %q is not configured", rec.Purpose)}
	}
	rs, why := pol.ClientRoles(p, rec.Client)
	if why != "" {
		return Grant{Why: why}
	}
	rs = shared(rs, purpose.Listeners)
	if len(rs) == 0 {
		return Grant{Why: fmt.Sprintf("purpose %q names none of the roles %v", rec.Purpose, p.Roles)}
	}
	privacy := slices.Contains(rs, PrivacyOfficer)
	switch rec.Use {
	case InUse:
	case StopOfUse:
		if !privacy {
			return Grant{Why: "recording is restricted (stop of use): privacy officers only"}
		}
	default:
		return Grant{Why: fmt.Sprintf("recording is %s", rec.State)}
	}
	return Grant{OK: true, Privacy: privacy}
}

// Returns applies the rule for a contract end, which hands a client's
// recordings of purpose back decrypted: the client's part is the
// contract-end route's own (an unscoped token, or one scoped to the
// client through a role its limits allow — see ClientAllows), and the
// purpose's is a read's: one of those roles among its listeners, the
// privacy-officer role where restricted recordings are among them. It
// returns why not, or "".
func (pol Policy) Returns(p Principal, client, purpose string, restricted bool) string {
	pu, ok := pol.Purpose(purpose)
	if !ok {
		return fmt.Sprintf("purpose %q is not configured", purpose)
	}
	rs := p.Roles
	if p.Scoped() {
		var why string
		if rs, why = pol.ClientRoles(p, client); why != "" {
			return why
		}
	}
	rs = shared(rs, pu.Listeners)
	switch {
	case len(rs) == 0:
		return fmt.Sprintf("purpose %q names none of the roles %v among its listeners", purpose, p.Roles)
	case restricted && !slices.Contains(rs, PrivacyOfficer):
		return fmt.Sprintf("purpose %q has restricted (stop of use) recordings: privacy officers only", purpose)
	}
	return ""
}

// ClearCaller reports whether p may see the caller numbers of client's
// recordings of purpose in clear where it reads them in bulk (an
// incident report): as reading one would show them, through the
// privacy-officer role among the purpose's listeners.
func (pol Policy) ClearCaller(p Principal, client, purpose string) bool {
	return pol.Returns(p, client, purpose, true) == ""
}

// Group is one part of a search scope: the clients ("" for lines of no
// client) whose recordings of the Visible purposes may be searched, and
// among them the purposes whose restricted recordings may be too.
type Group struct {
	Clients    []string
	Visible    []string
	Restricted []string
}

// Scope is what a principal may search: per group of clients in its
// view, the purposes naming one of its roles (and those naming
// privacy-officer, which it holds); Visible and Privacy are their
// unions.
type Scope struct {
	Visible, Privacy []string
	Groups           []Group
}

// Search returns p's search scope.
func (pol Policy) Search(p Principal) Scope {
	var s Scope
	view := p.Clients
	if !p.Scoped() {
		view = []string{""}
	}
	for _, client := range view {
		rs, why := pol.ClientRoles(p, client)
		if why != "" {
			continue
		}
		var vis, priv []string
		for _, pu := range pol.Purposes {
			both := shared(rs, pu.Listeners)
			if len(both) == 0 {
				continue
			}
			vis = append(vis, pu.Name)
			if slices.Contains(both, PrivacyOfficer) {
				priv = append(priv, pu.Name)
			}
		}
		if len(vis) == 0 {
			continue
		}
		for _, v := range vis {
			if !slices.Contains(s.Visible, v) {
				s.Visible = append(s.Visible, v)
			}
		}
		for _, v := range priv {
			if !slices.Contains(s.Privacy, v) {
				s.Privacy = append(s.Privacy, v)
			}
		}
		// Clients seeing the same purposes share one group, so the
		// common case is one condition.
		i := slices.IndexFunc(s.Groups, func(g Group) bool {
			return slices.Equal(g.Visible, vis) && slices.Equal(g.Restricted, priv)
		})
		if i < 0 {
			s.Groups = append(s.Groups, Group{Visible: vis, Restricted: priv})
			i = len(s.Groups) - 1
		}
		s.Groups[i].Clients = append(s.Groups[i].Clients, client)
	}
	return s
}

// Clients returns the clients of the scope's view ("" for none).
func (s Scope) Clients() []string {
	var out []string
	for _, g := range s.Groups {
		out = append(out, g.Clients...)
	}
	return out
}

// CallerGroups narrows the scope to the purposes open to privacy
// officers: a caller number is a privacy officer's search key.
func (s Scope) CallerGroups() []Group {
	var out []Group
	for _, g := range s.Groups {
		if len(g.Restricted) > 0 {
			out = append(out, Group{Clients: g.Clients, Visible: g.Restricted, Restricted: g.Restricted})
		}
	}
	return out
}

// SeesCall reports whether p may see (list, pause, resume) a call in
// progress on a line of client for purpose: an admin every call of the
// lines in its view, other roles those whose purpose names one of them.
// The view is as for recordings (ClientRoles).
func (pol Policy) SeesCall(p Principal, client, purpose string) bool {
	rs, why := pol.ClientRoles(p, client)
	if why != "" {
		return false
	}
	if slices.Contains(rs, Admin) {
		return true
	}
	pu, ok := pol.Purpose(purpose)
	return ok && len(shared(rs, pu.Listeners)) > 0
}

// ClientAllows reports whether p may act on client's data as a whole
// (a contract end, its runs) through one of roles: an unscoped principal
// through its own roles (its contract ends and reports cover every
// client), a scoped one through those the client's limits allow
// (ClientRoles). Otherwise it says why.
func (pol Policy) ClientAllows(p Principal, client string, roles []string) (string, bool) {
	if !p.Scoped() {
		return "", p.HasAny(roles...)
	}
	eff, why := pol.ClientRoles(p, client)
	if slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(eff, r) }) {
		return "", true
	}
	if why == "" {
		why = fmt.Sprintf("client %q's limits allow the roles %v of the token, none of %v", client, eff, roles)
	}
	return why, false
}

// IncidentView is what an incident report may cover for p.
type IncidentView struct {
	// All: the report covers every client (an unscoped token: reporting
	// an incident is the operator's duty towards each client).
	All bool
	// View and ClearOnly, for a scoped token: the clients whose limits
	// let it read the report (privacy-officer or auditor), and those
	// among them where it reads callers in clear (privacy-officer).
	View, ClearOnly []string
	// Clear: callers in clear at all.
	Clear bool
	// Refused says, for each of a scoped token's clients left out, why.
	Refused []string
}

// Incident returns p's incident-report view. The route's rule
// (privacy-officer or auditor) is checked before.
func (pol Policy) Incident(p Principal) IncidentView {
	if !p.Scoped() {
		return IncidentView{All: true, Clear: p.Has(PrivacyOfficer)}
	}
	v := IncidentView{View: []string{}, ClearOnly: []string{}}
	for _, cl := range p.Clients {
		rs, why := pol.ClientRoles(p, cl)
		switch {
		case slices.Contains(rs, PrivacyOfficer):
			v.View, v.ClearOnly = append(v.View, cl), append(v.ClearOnly, cl)
		case slices.Contains(rs, Auditor):
			v.View = append(v.View, cl)
		default:
			if why == "" {
				why = fmt.Sprintf("client %q's limits allow the roles %v of the token, neither privacy-officer nor auditor", cl, rs)
			}
			v.Refused = append(v.Refused, why)
		}
	}
	v.Clear = len(v.ClearOnly) > 0
	return v
}

func shared(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
