package config

import (
	"encoding/hex"
	"net/netip"
	"time"
)

// Auth is SIP digest authentication (RFC 3261 §22, RFC 8760) for trunks
// that are not identified by their address alone. Only hashed secrets
// are held: HA1 = H(name:realm:password), in hex, so the file never
// holds a password; a user may have the MD5 HA1, the SHA-256 one or both,
// and can answer only the challenges whose algorithm it has.
type Auth struct {
	Realm   string     `yaml:"realm"` // default "kiroku"; part of every HA1
	Users   []AuthUser `yaml:"users"`
	Lockout Lockout    `yaml:"lockout"`
}

// AuthUser is one digest user. HA1MD5 and HA1SHA256 are secrets: no
// message ever quotes them.
type AuthUser struct {
	Name      string `yaml:"name"`
	HA1MD5    string `yaml:"ha1_md5"`    // 32 hex digits: MD5(name:realm:password)
	HA1SHA256 string `yaml:"ha1_sha256"` // 64 hex digits: SHA-256(name:realm:password)
}

// Lockout refuses (403) a user name and a source address for Duration
// once either has failed to authenticate Failures times within Window.
type Lockout struct {
	Failures int      `yaml:"failures"` // default 5
	Window   Duration `yaml:"window"`   // default 5m
	Duration Duration `yaml:"duration"` // default 15m
}

// Defaults of sip.auth.
const (
	DefaultAuthRealm       = "kiroku"
	DefaultLockoutFailures = 5
	DefaultLockoutWindow   = Duration(5 * time.Minute)
	DefaultLockoutDuration = Duration(15 * time.Minute)
)

// AuthUser returns the user called name.
func (c *Config) AuthUser(name string) (*AuthUser, bool) {
	for i := range c.SIP.Auth.Users {
		if c.SIP.Auth.Users[i].Name == name {
			return &c.SIP.Auth.Users[i], true
		}
	}
	return nil, false
}

// Caller returns the trunk a call from addr belongs to and whether it
// must authenticate: the first trunk with a prefix holding addr, else
// the first trunk without prefixes (one that takes calls from anywhere,
// always with authentication).
func (c *Config) Caller(addr netip.Addr) (t *Trunk, auth, ok bool) {
	if t, ok := c.Trunk(addr); ok {
		return t, t.Auth, true
	}
	for i := range c.SIP.Trunks {
		if t := &c.SIP.Trunks[i]; len(t.CIDRs) == 0 && t.Auth {
			return t, true, true
		}
	}
	return nil, false, false
}

// checkAuth fills in sip.auth's defaults and checks it against the
// trunks that need it.
func (c *Config) checkAuth(r *report) {
	given := func(key string) bool { _, ok := r.pos[key]; return ok }
	a := &c.SIP.Auth
	if a.Realm == "" && !given("sip.auth.realm") {
		a.Realm = DefaultAuthRealm
	}
	if a.Realm == "" || !printable(a.Realm) {
		r.add("sip.auth.realm", "must be printable text without quotes or backslashes")
	}
	names := map[string]int{}
	for i := range a.Users {
		u, key := &a.Users[i], index("sip.auth.users", i)
		switch {
		case u.Name == "" || !printable(u.Name):
			r.add(child(key, "name"), "required: printable text without quotes or backslashes")
		default:
			if j, dup := names[u.Name]; dup {
				r.add(child(key, "name"), "%q repeats sip.auth.users[%d]", u.Name, j)
			}
			names[u.Name] = i
		}
		if u.HA1MD5 == "" && u.HA1SHA256 == "" {
			r.add(key, "needs ha1_md5, ha1_sha256 or both")
		}
		// The messages never quote a secret, not even a malformed one.
		if u.HA1MD5 != "" && !isHex(u.HA1MD5, 16) {
			r.add(child(key, "ha1_md5"), "is not 32 hex digits (MD5 of name:realm:password)")
		}
		if u.HA1SHA256 != "" && !isHex(u.HA1SHA256, 32) {
			r.add(child(key, "ha1_sha256"), "is not 64 hex digits (SHA-256 of name:realm:password)")
		}
	}
	lo := &a.Lockout
	if lo.Failures == 0 && !given("sip.auth.lockout.failures") {
		lo.Failures = DefaultLockoutFailures
	}
	if lo.Window == 0 && !given("sip.auth.lockout.window") {
		lo.Window = DefaultLockoutWindow
	}
	if lo.Duration == 0 && !given("sip.auth.lockout.duration") {
		lo.Duration = DefaultLockoutDuration
	}
	if lo.Failures < 1 {
		r.add("sip.auth.lockout.failures", "must be at least 1, got %d; the lockout cannot be turned off", lo.Failures)
	}
	if lo.Window <= 0 {
		r.add("sip.auth.lockout.window", "must be more than 0")
	}
	if lo.Duration <= 0 {
		r.add("sip.auth.lockout.duration", "must be more than 0")
	}
	for i := range c.SIP.Trunks {
		t, key := &c.SIP.Trunks[i], index("sip.trunks", i)
		if t.Auth && len(a.Users) == 0 {
			r.add(child(key, "auth"), "needs at least one user in sip.auth.users")
		}
	}
}

func isHex(s string, n int) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == n
}

// printable: visible ASCII and spaces, without the characters a quoted
// string of a digest header would have to escape.
func printable(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
