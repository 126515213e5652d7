package config

import (
	"strings"
	"testing"
)

func TestIdentityGiven(t *testing.T) {
	c, err := Load("testdata/identity/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		identity string
		asserts  bool
	}{{IdentityPAI, true}, {IdentityRPID, true}, {DefaultIdentity, false}} {
		tr := &c.SIP.Trunks[i]
		if tr.Identity != want.identity || tr.Asserts() != want.asserts {
			t.Errorf("trunk %s: got identity %q (asserts %v), want %q (%v)", tr.Name, tr.Identity, tr.Asserts(), want.identity, want.asserts)
		}
	}
}

func TestIdentityInvalid(t *testing.T) {
	_, err := Load("testdata/identity/invalid.yaml")
	want := `invalid.yaml:4: sip.trunks[0].identity: "p-asserted-identity" is not from, pai or rpid`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error with %q", err, want)
	}
}
