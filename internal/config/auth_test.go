package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestAuthGiven(t *testing.T) {
	c, err := Load("testdata/auth/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := c.SIP.Auth
	if a.Realm != "example" || len(a.Users) != 2 || a.Users[1].HA1MD5 != "FEDCBA9876543210FEDCBA9876543210" {
		t.Errorf("got %+v, want realm example and two users", a)
	}
	if want := (Lockout{3, Duration(time.Minute), Duration(10 * time.Minute)}); a.Lockout != want {
		t.Errorf("got lockout %+v, want %+v", a.Lockout, want)
	}
	for _, tc := range []struct {
		addr     string
		trunk    string
		auth, ok bool
	}{
		{"192.0.2.9", "pbx", true, true},
		{"198.51.100.7", "carrier", false, true},
		{"203.0.113.1", "roaming", true, true},
		{"::ffff:192.0.2.9", "pbx", true, true},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			tr, auth, ok := c.Caller(netip.MustParseAddr(tc.addr))
			if ok != tc.ok || auth != tc.auth || (ok && tr.Name != tc.trunk) {
				t.Errorf("got %v %v %v, want %s %v %v", tr, auth, ok, tc.trunk, tc.auth, tc.ok)
			}
		})
	}
	if _, ok := c.AuthUser("bob"); !ok {
		t.Error("AuthUser(bob): not found")
	}
}

// TestAuthDefaults: without sip.auth nothing authenticates, and the
// lockout has its defaults.
func TestAuthDefaults(t *testing.T) {
	c, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Auth{Realm: "kiroku", Lockout: Lockout{5, Duration(5 * time.Minute), Duration(15 * time.Minute)}}
	if c.SIP.Auth.Realm != want.Realm || c.SIP.Auth.Lockout != want.Lockout || len(c.SIP.Auth.Users) != 0 {
		t.Errorf("got %+v, want %+v", c.SIP.Auth, want)
	}
}

// TestAuthInvalid: every problem names its key, and no message quotes a
// secret, even a malformed one.
func TestAuthInvalid(t *testing.T) {
	_, err := Load("testdata/auth/invalid.yaml")
	if err == nil {
		t.Fatal("got no error")
	}
	want := []string{
		`invalid.yaml:5: sip.trunks[1].cidrs: at least one CIDR is required, such as "192.0.2.0/24"`,
		`invalid.yaml:7: sip.auth.realm: must be printable text without quotes or backslashes`,
		`invalid.yaml:9: sip.auth.users[0].ha1_md5: is not 32 hex digits (MD5 of name:realm:password)`,
		`invalid.yaml:10: sip.auth.users[1].name: "alice" repeats sip.auth.users[0]`,
		`invalid.yaml:10: sip.auth.users[1].ha1_sha256: is not 64 hex digits (SHA-256 of name:realm:password)`,
		`invalid.yaml:11: sip.auth.users[2]: needs ha1_md5, ha1_sha256 or both`,
		// The decoder refuses a negative duration before the checks.
		`invalid.yaml:12: sip.auth.lockout.window: "-1s" is negative`,
		`invalid.yaml:12: sip.auth.lockout.failures: must be at least 1, got 0; the lockout cannot be turned off`,
		`invalid.yaml:12: sip.auth.lockout.duration: must be more than 0`,
	}
	msg := err.Error()
	got := strings.Split(strings.ReplaceAll(msg, "testdata/auth/", ""), "\n")
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("problem %d:\ngot  %s\nwant %s", i, g, w)
		}
	}
	for _, secret := range []string{"not-a-secret", "0123456789abcdef"} {
		if strings.Contains(msg, secret) {
			t.Errorf("the message quotes the secret %q:\n%s", secret, msg)
		}
	}
}
