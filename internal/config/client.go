package config

import (
	"slices"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/access"
)

// Client is a company that lines are run for under contract (an
// outsourced line): its recordings carry its id in the manifest, the
// catalog and an S3 tag, their object keys start with "<id>/", only
// tokens naming it see them, and its limits win over the purposes' when
// stricter.
type Client struct {
	// ID names the client in object keys, tags, tokens and lines: 1 to
	// 63 lower-case letters, digits and '-', starting with a letter or a
	// digit.
	ID     string       `yaml:"id"`
	Name   string       `yaml:"name"` // the company's name, for certificates and answers
	Limits ClientLimits `yaml:"limits"`
	// Disclosure says how data-subject disclosure requests covering its
	// recordings are answered: "refer" (the default) refuses them with
	// the policy's reason, the data being the client's customers' and the
	// request the client's to answer; "answer" discloses them as any
	// other line's.
	Disclosure string `yaml:"disclosure"`
	// Contact tells a requester how to reach the client (a desk, a
	// number); it is added to the refusal's reason.
	Contact string `yaml:"contact"`
	// Encryption, when it lists keys, gives the client master keys of
	// its own: the data keys of its recordings are wrapped with them,
	// and its manifests sealed, instead of with the global keys, so that
	// a contract end that destroys them makes every copy of the client's
	// recordings unreadable at once — backups of the catalog and copies
	// of the bucket included. Its keys are files (a contract end
	// overwrites them); their ids are unique among every key configured.
	Encryption Encryption `yaml:"encryption"`
}

// ClientLimits are a client's stricter terms. A limit that is not
// stricter than the purpose's changes nothing: the stricter always wins.
type ClientLimits struct {
	// Retention caps the retention of every recording of the client.
	Retention Retention `yaml:"retention"`
	// Purposes caps the retention of the client's recordings of one
	// purpose.
	Purposes []ClientPurposeLimit `yaml:"purposes"`
	// Roles, when set, are the only roles that may see the client's
	// recordings (among those their purpose names as listeners).
	Roles []string `yaml:"roles"`
}

// ClientPurposeLimit caps the retention of a client's recordings of one
// purpose.
type ClientPurposeLimit struct {
	Purpose   string    `yaml:"purpose"`
	Retention Retention `yaml:"retention"`
}

// Disclosure settings of a client.
const (
	DisclosureRefer  = "refer"
	DisclosureAnswer = "answer"
)

// Client returns the client called id.
func (c *Config) Client(id string) (*Client, bool) {
	for i := range c.Clients {
		if c.Clients[i].ID == id {
			return &c.Clients[i], true
		}
	}
	return nil, false
}

// RetainUntil returns when a recording of client ("" for none) and
// purpose, started at t, is to be deleted: the earliest date that the
// purpose's retention and the client's limits give. ok is false when the
// purpose or the client is not configured.
func (c *Config) RetainUntil(client, purpose string, t time.Time) (time.Time, bool) {
	p, ok := c.Purpose(purpose)
	if !ok {
		return time.Time{}, false
	}
	until := p.Retention.Until(t)
	if client == "" {
		return until, true
	}
	cl, ok := c.Client(client)
	if !ok {
		return time.Time{}, false
	}
	return cl.RetainUntil(purpose, until, t), true
}

// RetainUntil returns the earlier of until (the purpose's date for a
// recording started at t) and the dates the client's limits give.
func (cl *Client) RetainUntil(purpose string, until, t time.Time) time.Time {
	if cl.Limits.Retention.N > 0 {
		if u := cl.Limits.Retention.Until(t); u.Before(until) {
			until = u
		}
	}
	for _, l := range cl.Limits.Purposes {
		if l.Purpose == purpose && l.Retention.N > 0 {
			if u := l.Retention.Until(t); u.Before(until) {
				until = u
			}
		}
	}
	return until
}

// Allows reports whether the client's limits let role see its
// recordings.
func (cl *Client) Allows(role string) bool {
	return len(cl.Limits.Roles) == 0 || slices.Contains(cl.Limits.Roles, role)
}

// ClientLines returns the numbers of the lines run for client id.
func (c *Config) ClientLines(id string) []string {
	var out []string
	for _, l := range c.Lines {
		if l.Client == id {
			out = append(out, l.Number)
		}
	}
	return out
}

// clientIDChars are the characters of a client id after its first.
const clientIDChars = "abcdefghijklmnopqrstuvwxyz0123456789-"

// checkClients checks the clients section, the lines and tokens naming
// clients.
func (c *Config) checkClients(r *report) {
	ids := map[string]int{}
	for i := range c.Clients {
		cl := &c.Clients[i]
		key := index("clients", i)
		switch id := cl.ID; {
		case id == "":
			r.add(child(key, "id"), "required: the id that prefixes the client's object keys, such as \"acme\"")
		case len(id) > 63 || id[0] == '-' || strings.Trim(id, clientIDChars) != "":
			r.add(child(key, "id"), "%q: use 1 to 63 lower-case letters, digits and '-', starting with a letter or digit (it prefixes object keys)", id)
		case id == "audit":
			r.add(child(key, "id"), "%q is reserved: the store keeps audit checkpoints under audit/", id)
		default:
			if _, ok := c.Purpose(id); ok {
				r.add(child(key, "id"), "%q is also a purpose's name: the client's keys (%s/…) and the purpose's (%s/…) would share a prefix", id, id, id)
			}
			if j, dup := ids[id]; dup {
				r.add(child(key, "id"), "%q repeats clients[%d]", id, j)
			} else {
				ids[id] = i
			}
		}
		if cl.Name == "" {
			r.add(child(key, "name"), "required: the company's name, as certificates and answers show it")
		}
		switch cl.Disclosure {
		case "":
			cl.Disclosure = DisclosureRefer
		case DisclosureRefer, DisclosureAnswer:
		default:
			r.add(child(key, "disclosure"), "%q is not refer (requests are refused and referred to the client) or answer", cl.Disclosure)
		}
		c.checkClientKeys(r, cl, key)
		lk := child(key, "limits")
		seen := map[string]int{}
		for j, pl := range cl.Limits.Purposes {
			pk := index(child(lk, "purposes"), j)
			switch {
			case pl.Purpose == "":
				r.add(child(pk, "purpose"), "required: the purpose whose retention this limits")
			default:
				if _, ok := c.Purpose(pl.Purpose); !ok {
					r.add(child(pk, "purpose"), "%q is not a defined purpose", pl.Purpose)
				}
				if k, dup := seen[pl.Purpose]; dup {
					r.add(child(pk, "purpose"), "%q repeats %s[%d]", pl.Purpose, child(lk, "purposes"), k)
				}
				seen[pl.Purpose] = j
			}
			if pl.Retention.N == 0 {
				r.add(child(pk, "retention"), "required, such as \"30d\"")
			}
		}
		checkRoleList(r, child(lk, "roles"), cl.Limits.Roles)
	}
	for i, l := range c.Lines {
		if l.Client == "" {
			continue
		}
		if _, ok := ids[l.Client]; !ok {
			r.add(child(index("lines", i), "client"), "%q is not a defined client", l.Client)
		}
	}
	for i, t := range c.API.Tokens {
		seen := map[string]bool{}
		for j, id := range t.Clients {
			key := index(child(index("api.tokens", i), "clients"), j)
			switch _, ok := ids[id]; {
			case !ok:
				r.add(key, "%q is not a defined client", id)
			case seen[id]:
				r.add(key, "%q is listed twice", id)
			}
			seen[id] = true
		}
	}
}

// checkRoleList reports entries of list that are not roles or repeat.
func checkRoleList(r *report, key string, list []string) {
	seen := map[string]bool{}
	for j, role := range list {
		switch {
		case !access.IsRole(role):
			r.add(index(key, j), "%q is not a role (want %s)", role, access.RoleList())
		case seen[role]:
			r.add(index(key, j), "%q is listed twice", role)
		}
		seen[role] = true
	}
}

// checkClientKeys checks client cl's own master keys, at key: files
// only, ids unique among every key of the configuration, an active key
// among them.
func (c *Config) checkClientKeys(r *report, cl *Client, key string) {
	e := &cl.Encryption
	ek := child(key, "encryption")
	ids := map[string]bool{}
	for i, k := range e.Keys {
		kk := index(child(ek, "keys"), i)
		switch {
		case k.ID == "" || strings.ContainsAny(k.ID, " \t/"):
			r.add(child(kk, "id"), "required: a word naming the key, such as \"%s-2026\"", cl.ID)
		case ids[k.ID]:
			r.add(child(kk, "id"), "%q is listed twice", k.ID)
		case c.keyOwner(k.ID, cl.ID) != "":
			r.add(child(kk, "id"), "%q is also a key of %s: key ids are unique among every key configured", k.ID, c.keyOwner(k.ID, cl.ID))
		}
		ids[k.ID] = true
		if k.File == "" || k.Env != "" {
			r.add(kk, "give file (and no env): a client's key is a file, which its contract end destroys")
		}
	}
	switch {
	case len(e.Keys) > 0 && e.ActiveKey == "":
		r.add(child(ek, "active_key"), "required when keys are listed")
	case e.ActiveKey != "" && !ids[e.ActiveKey]:
		r.add(child(ek, "active_key"), "%q is not one of its keys", e.ActiveKey)
	}
}

// keyOwner names what else than client except configures key id: the
// global encryption keys, or another client; "" when nothing does.
func (c *Config) keyOwner(id, except string) string {
	if len(c.Encryption.Keys) == 0 && id == "master" {
		return "the master key kirokud keeps in data_dir (keys/master.key)"
	}
	for _, k := range c.Encryption.Keys {
		if k.ID == id {
			return "encryption.keys"
		}
	}
	for _, cl := range c.Clients {
		if cl.ID == except {
			continue
		}
		for _, k := range cl.Encryption.Keys {
			if k.ID == id {
				return "client " + cl.ID
			}
		}
	}
	return ""
}
