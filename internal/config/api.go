package config

import (
	"crypto/tls"
	"encoding/hex"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/kiroku-voice/kiroku/access"
)

// API configures the supervisor HTTP API and its web UI: where it
// listens, its TLS certificate, and the bearer tokens that may use it.
// Tokens are swapped on reload; the listener and certificate files are
// read at start (a renewed certificate is picked up when its file
// changes).
type API struct {
	// Listen is the IP:port to serve on; "" (the default) turns the API
	// off. Plain HTTP is allowed only on a loopback address.
	Listen  string     `yaml:"listen"`
	TLSCert string     `yaml:"tls_cert"` // PEM certificate (chain); relative to the config file
	TLSKey  string     `yaml:"tls_key"`  // PEM private key; relative to the config file
	Tokens  []APIToken `yaml:"tokens"`
	// FirstRunToken makes kirokud create one admin token at its first
	// start, in FirstRunTokenFile under data_dir (0600), and accept it
	// from then on: a way to sign in before any token is configured.
	FirstRunToken bool `yaml:"first_run_token"`
	// MaxListeners bounds the listen-ins streaming at once, over every
	// call and token; one more is refused (503) until one ends. Each
	// costs a copy of the call's audio every 200 ms and its bandwidth
	// (32 kB/s at 8 kHz, 64 kB/s at 16 kHz).
	MaxListeners int `yaml:"max_listeners"` // default 20
}

// DefaultMaxListeners is api.max_listeners when the file does not set it.
const DefaultMaxListeners = 20

// The first-run token: its file under data_dir and the name the audit
// log shows for it.
const (
	FirstRunTokenFile = "first-run-token"
	FirstRunTokenName = "first-run-admin"
)

// APIToken is one bearer token: a name (the actor in the audit log), its
// roles and the SHA-256 of the token. The token itself is never stored.
type APIToken struct {
	Name   string   `yaml:"name"`
	Roles  []string `yaml:"roles"`
	SHA256 string   `yaml:"sha256"` // 64 hex digits of sha256(token)
	Hash   []byte   `yaml:"-"`      // SHA256, decoded by Validate
	// Clients scopes the token to these clients' recordings and calls;
	// a token without clients sees only lines run for no client.
	Clients []string `yaml:"clients"`
}

// TLS reports whether the API serves HTTPS.
func (a *API) TLS() bool { return a.TLSCert != "" && a.TLSKey != "" }

// HasRole reports whether the token holds role.
func (t *APIToken) HasRole(role string) bool {
	for _, r := range t.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// resolveAPI joins relative certificate paths to dir.
func (c *Config) resolveAPI(dir string) {
	for _, p := range []*string{&c.API.TLSCert, &c.API.TLSKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// checkAPI checks the api section and decodes the token hashes.
func (c *Config) checkAPI(r *report) {
	a := &c.API
	switch {
	case a.TLSCert != "" && a.TLSKey == "":
		r.add("api.tls_cert", "set, but api.tls_key is not: the two go together")
	case a.TLSKey != "" && a.TLSCert == "":
		r.add("api.tls_key", "set, but api.tls_cert is not: the two go together")
	case a.TLS():
		// The key's bytes never reach the message: tls errors name only
		// what is wrong with the PEM.
		if _, err := tls.LoadX509KeyPair(a.TLSCert, a.TLSKey); err != nil {
			r.add("api.tls_cert", "cannot load the certificate and key: %v", err)
		}
	}
	if a.Listen != "" {
		ap, err := netip.ParseAddrPort(a.Listen)
		switch {
		case err != nil:
			r.add("api.listen", "%q is not an IP:port such as \"127.0.0.1:8443\"", a.Listen)
		case !ap.Addr().IsLoopback() && !a.TLS():
			r.add("api.listen", "%s is not a loopback address: plain HTTP is allowed only on loopback; set api.tls_cert and api.tls_key", ap.Addr())
		}
		if len(a.Tokens) == 0 && !a.FirstRunToken {
			r.add("api.tokens", "at least one token is required when api.listen is set (or api.first_run_token: true)")
		}
	} else if a.FirstRunToken {
		r.add("api.first_run_token", "set, but api.listen is not: the token is for the API")
	}
	if _, given := r.pos["api.max_listeners"]; !given && a.MaxListeners == 0 {
		a.MaxListeners = DefaultMaxListeners
	}
	if a.MaxListeners < 1 {
		r.add("api.max_listeners", "must be at least 1, got %d (who may listen in is the purposes' listeners' matter, not this bound's)", a.MaxListeners)
	}
	names, hashes := map[string]int{}, map[string]int{}
	for i := range a.Tokens {
		t := &a.Tokens[i]
		key := index("api.tokens", i)
		switch {
		case t.Name == "":
			r.add(child(key, "name"), "required: the name the audit log shows for this token")
		case len(t.Name) > 64 || strings.Trim(t.Name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") != "":
			r.add(child(key, "name"), "%q may hold only 1 to 64 letters, digits, '.', '_', '@' and '-'", t.Name)
		default:
			if j, dup := names[t.Name]; dup {
				r.add(child(key, "name"), "%q repeats api.tokens[%d]", t.Name, j)
			} else if a.FirstRunToken && t.Name == FirstRunTokenName {
				r.add(child(key, "name"), "%q is the first-run token's name (api.first_run_token is set)", t.Name)
			} else {
				names[t.Name] = i
			}
		}
		if len(t.Roles) == 0 {
			r.add(child(key, "roles"), "at least one role is required (%s)", access.RoleList())
		}
		seen := map[string]bool{}
		for j, role := range t.Roles {
			switch {
			case !access.IsRole(role):
				r.add(index(child(key, "roles"), j), "%q is not a role (want %s)", role, access.RoleList())
			case seen[role]:
				r.add(index(child(key, "roles"), j), "%q is listed twice", role)
			}
			seen[role] = true
		}
		t.Hash = nil
		h, err := hex.DecodeString(t.SHA256)
		switch {
		case t.SHA256 == "":
			r.add(child(key, "sha256"), "required: the SHA-256 of the token in hex (kirokuctl token new makes a token and its hash)")
		case err != nil || len(h) != 32:
			r.add(child(key, "sha256"), "is not 64 hex digits (the SHA-256 of the token)")
		default:
			s := hex.EncodeToString(h)
			if j, dup := hashes[s]; dup {
				r.add(child(key, "sha256"), "is the same token as api.tokens[%d]: give each person their own", j)
			}
			hashes[s] = i
			t.Hash = h
		}
	}
}
