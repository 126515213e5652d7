package access

import (
	"slices"
	"testing"
)

// policy is the scope rules' fixture: cs-quality open to supervisors
// and privacy officers, complaints to privacy officers, audits to
// auditors; acme allows every role, globex only supervisors.
var policy = Policy{
	Purposes: []Purpose{
		{Name: "cs-quality", Listeners: []string{Supervisor, PrivacyOfficer}},
		{Name: "complaints", Listeners: []string{PrivacyOfficer}},
		{Name: "audits", Listeners: []string{Auditor}},
	},
	Clients: []Client{{ID: "acme"}, {ID: "globex", Roles: []string{Supervisor}}},
}

func who(roles []string, clients ...string) Principal {
	return Principal{Roles: roles, Clients: clients}
}

var (
	sup = []string{Supervisor}
	po  = []string{PrivacyOfficer}
	aud = []string{Auditor}
	adm = []string{Admin}
)

func TestClientRoles(t *testing.T) {
	for _, c := range []struct {
		name   string
		p      Principal
		client string
		roles  []string
		why    string
	}{
		{"unscoped, no client", who(sup), "", sup, ""},
		{"unscoped, a client", who(sup), "acme", nil, `line run for client "acme"; the token is scoped to no client (it sees lines run for no client only)`},
		{"scoped, no client", who(sup, "acme"), "", nil, "line run for no client; the token is scoped to clients [acme]"},
		{"scoped, another client", who(sup, "acme"), "globex", nil, `line run for client "globex"; the token is scoped to clients [acme]`},
		{"scoped, its client", who([]string{Supervisor, Auditor}, "acme"), "acme", []string{Supervisor, Auditor}, ""},
		{"limits narrow the roles", who([]string{Supervisor, Auditor}, "globex"), "globex", sup, ""},
		{"limits leave none", who(aud, "globex"), "globex", nil, `client "globex"'s limits allow none of the roles [auditor]`},
		{"client not configured", who(sup, "initech"), "initech", nil, `client "initech" is not configured`},
	} {
		t.Run(c.name, func(t *testing.T) {
			roles, why := policy.ClientRoles(c.p, c.client)
			if !slices.Equal(roles, c.roles) || why != c.why {
				t.Errorf("got %v %q, want %v %q", roles, why, c.roles, c.why)
			}
		})
	}
}

func TestGrant(t *testing.T) {
	stored := func(purpose, client string) Recording {
		return Recording{Purpose: purpose, Client: client, State: "stored", Use: InUse}
	}
	for _, c := range []struct {
		name string
		p    Principal
		rec  Recording
		want Grant
	}{
		{"supervisor, its purpose", who(sup), stored("cs-quality", ""), Grant{OK: true}},
		{"privacy officer sees callers", who(po), stored("cs-quality", ""), Grant{OK: true, Privacy: true}},
		{"supervisor, a purpose not naming it", who(sup), stored("complaints", ""), Grant{Why: `purpose "complaints" names none of the roles [supervisor]`}},
		{"admin, no purpose names it", who(adm), stored("cs-quality", ""), Grant{Why: `purpose "cs-quality" names none of the roles [admin]`}},
		{"unknown purpose", who(sup), stored("gone", ""), Grant{Why: `purpose "gone" is not configured`}},
		{"restricted, supervisor", who(sup), Recording{Purpose: "cs-quality", State: "restricted", Use: StopOfUse}, Grant{Why: "recording is restricted (stop of use): privacy officers only"}},
		{"restricted, privacy officer", who(po), Recording{Purpose: "cs-quality", State: "restricted", Use: StopOfUse}, Grant{OK: true, Privacy: true}},
		{"being purged", who(po), Recording{Purpose: "cs-quality", State: "purging", Use: Unusable}, Grant{Why: "recording is purging"}},
		{"client's recording, scoped token", who(sup, "acme"), stored("cs-quality", "acme"), Grant{OK: true}},
		{"client's recording, unscoped token", who(po), stored("cs-quality", "acme"), Grant{Why: `line run for client "acme"; the token is scoped to no client (it sees lines run for no client only)`}},
		{"client's limits drop privacy-officer", who([]string{Supervisor, PrivacyOfficer}, "globex"), stored("cs-quality", "globex"), Grant{OK: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := policy.Grant(c.p, c.rec); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	for _, c := range []struct {
		name    string
		p       Principal
		visible []string
		privacy []string
		groups  []Group
		caller  []Group
	}{
		{"supervisor", who(sup), []string{"cs-quality"}, nil,
			[]Group{{Clients: []string{""}, Visible: []string{"cs-quality"}}}, nil},
		{"privacy officer", who(po), []string{"cs-quality", "complaints"}, []string{"cs-quality", "complaints"},
			[]Group{{Clients: []string{""}, Visible: []string{"cs-quality", "complaints"}, Restricted: []string{"cs-quality", "complaints"}}},
			[]Group{{Clients: []string{""}, Visible: []string{"cs-quality", "complaints"}, Restricted: []string{"cs-quality", "complaints"}}}},
		{"admin sees nothing", who(adm), nil, nil, nil, nil},
		{"two clients, one group", who(sup, "acme", "globex"), []string{"cs-quality"}, nil,
			[]Group{{Clients: []string{"acme", "globex"}, Visible: []string{"cs-quality"}}}, nil},
		{"limits split the groups", who([]string{Supervisor, PrivacyOfficer}, "acme", "globex"), []string{"cs-quality", "complaints"}, []string{"cs-quality", "complaints"},
			[]Group{
				{Clients: []string{"acme"}, Visible: []string{"cs-quality", "complaints"}, Restricted: []string{"cs-quality", "complaints"}},
				{Clients: []string{"globex"}, Visible: []string{"cs-quality"}},
			},
			[]Group{{Clients: []string{"acme"}, Visible: []string{"cs-quality", "complaints"}, Restricted: []string{"cs-quality", "complaints"}}}},
		{"a client whose limits leave nothing", who(aud, "globex"), nil, nil, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := policy.Search(c.p)
			if !slices.Equal(s.Visible, c.visible) || !slices.Equal(s.Privacy, c.privacy) {
				t.Errorf("got visible %v privacy %v, want %v %v", s.Visible, s.Privacy, c.visible, c.privacy)
			}
			if !sameGroups(s.Groups, c.groups) {
				t.Errorf("got groups %+v, want %+v", s.Groups, c.groups)
			}
			if got := s.CallerGroups(); !sameGroups(got, c.caller) {
				t.Errorf("got caller groups %+v, want %+v", got, c.caller)
			}
			var clients []string
			for _, g := range c.groups {
				clients = append(clients, g.Clients...)
			}
			if got := s.Clients(); !slices.Equal(got, clients) {
				t.Errorf("got clients %v, want %v", got, clients)
			}
		})
	}
}

func sameGroups(a, b []Group) bool {
	return slices.EqualFunc(a, b, func(x, y Group) bool {
		return slices.Equal(x.Clients, y.Clients) && slices.Equal(x.Visible, y.Visible) && slices.Equal(x.Restricted, y.Restricted)
	})
}

func TestSeesCall(t *testing.T) {
	for _, c := range []struct {
		name            string
		p               Principal
		client, purpose string
		want            bool
	}{
		{"supervisor, its purpose", who(sup), "", "cs-quality", true},
		{"supervisor, another purpose", who(sup), "", "complaints", false},
		{"admin, any purpose of its view", who(adm), "", "complaints", true},
		{"admin, unknown purpose", who(adm), "", "gone", true},
		{"unscoped admin, a client's call", who(adm), "acme", "cs-quality", false},
		{"scoped admin, its client", who(adm, "acme"), "acme", "complaints", true},
		{"scoped admin, limits without admin", who(adm, "globex"), "globex", "cs-quality", false},
		{"scoped supervisor, other client", who(sup, "acme"), "globex", "cs-quality", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := policy.SeesCall(c.p, c.client, c.purpose); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestClientAllows(t *testing.T) {
	read := []string{Admin, PrivacyOfficer, Auditor}
	for _, c := range []struct {
		name   string
		p      Principal
		client string
		roles  []string
		ok     bool
		why    string
	}{
		{"unscoped admin, any client", who(adm), "globex", adm, true, ""},
		{"unscoped supervisor", who(sup), "acme", adm, false, ""},
		{"scoped admin, its client", who(adm, "acme"), "acme", adm, true, ""},
		{"scoped admin, limits leave it out", who(adm, "globex"), "globex", adm, false, `client "globex"'s limits allow none of the roles [admin]`},
		{"scoped, limits keep another role", who([]string{Supervisor, Admin}, "globex"), "globex", read, false, `client "globex"'s limits allow the roles [supervisor] of the token, none of [admin privacy-officer auditor]`},
		{"scoped, another client", who(adm, "acme"), "globex", adm, false, `line run for client "globex"; the token is scoped to clients [acme]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			why, ok := policy.ClientAllows(c.p, c.client, c.roles)
			if ok != c.ok || why != c.why {
				t.Errorf("got %v %q, want %v %q", ok, why, c.ok, c.why)
			}
		})
	}
}

func TestIncident(t *testing.T) {
	for _, c := range []struct {
		name string
		p    Principal
		want IncidentView
	}{
		{"unscoped privacy officer", who(po), IncidentView{All: true, Clear: true}},
		{"unscoped auditor", who(aud), IncidentView{All: true}},
		{"scoped privacy officer", who(po, "acme"), IncidentView{View: []string{"acme"}, ClearOnly: []string{"acme"}, Clear: true}},
		{"scoped auditor", who(aud, "acme"), IncidentView{View: []string{"acme"}, ClearOnly: []string{}}},
		{"scoped, limits leave neither", who([]string{Supervisor, Auditor}, "globex"), IncidentView{View: []string{}, ClearOnly: []string{},
			Refused: []string{`client "globex"'s limits allow the roles [supervisor] of the token, neither privacy-officer nor auditor`}}},
		{"scoped to two", who(po, "acme", "globex"), IncidentView{View: []string{"acme"}, ClearOnly: []string{"acme"}, Clear: true,
			Refused: []string{`client "globex"'s limits allow none of the roles [privacy-officer]`}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := policy.Incident(c.p)
			if got.All != c.want.All || got.Clear != c.want.Clear || !slices.Equal(got.View, c.want.View) ||
				!slices.Equal(got.ClearOnly, c.want.ClearOnly) || !slices.Equal(got.Refused, c.want.Refused) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
