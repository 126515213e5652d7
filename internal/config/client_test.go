package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/access"
)

// TestClientsInvalid: every problem of the clients section, of lines
// naming clients and of tokens scoped to clients is reported with its
// line and key.
func TestClientsInvalid(t *testing.T) {
	want := []string{
		`invalid.yaml:5: api.tokens[0].clients[1]: "nosuch" is not a defined client`,
		`invalid.yaml:5: api.tokens[0].clients[2]: "acme" is listed twice`,
		`invalid.yaml:10: clients[1].id: "acme" repeats clients[0]`,
		`invalid.yaml:11: clients[2].id: "Big_Co": use 1 to 63 lower-case letters, digits and '-', starting with a letter or digit (it prefixes object keys)`,
		`invalid.yaml:12: clients[3].id: "audit" is reserved: the store keeps audit checkpoints under audit/`,
		`invalid.yaml:13: clients[4].id: "cs" is also a purpose's name: the client's keys (cs/…) and the purpose's (cs/…) would share a prefix`,
		`invalid.yaml:14: clients[5].id: "-dash": use 1 to 63 lower-case letters, digits and '-', starting with a letter or digit (it prefixes object keys)`,
		`invalid.yaml:15: clients[6].id: required: the id that prefixes the client's object keys, such as "acme"`,
		`invalid.yaml:16: clients[7].name: required: the company's name, as certificates and answers show it`,
		`invalid.yaml:17: clients[7].disclosure: "maybe" is not refer (requests are refused and referred to the client) or answer`,
		`invalid.yaml:19: clients[7].limits.retention: "0d": retention must be more than 0`,
		`invalid.yaml:21: clients[7].limits.purposes[0].purpose: "nosuch" is not a defined purpose`,
		`invalid.yaml:22: clients[7].limits.purposes[1].retention: required, such as "30d"`,
		`invalid.yaml:23: clients[7].limits.purposes[2].purpose: "cs" repeats clients[7].limits.purposes[1]`,
		`invalid.yaml:24: clients[7].limits.purposes[3].purpose: required: the purpose whose retention this limits`,
		`invalid.yaml:25: clients[7].limits.roles[1]: "boss" is not a role (want supervisor, privacy-officer, auditor or admin)`,
		`invalid.yaml:25: clients[7].limits.roles[2]: "supervisor" is listed twice`,
		`invalid.yaml:27: lines[0].client: "nosuch" is not a defined client`,
	}
	_, err := Load(filepath.Join("testdata", "clients", "invalid.yaml"))
	if err == nil {
		t.Fatal("got no error")
	}
	got := strings.Split(err.Error(), "\n")
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = strings.TrimPrefix(got[i], filepath.Join("testdata", "clients")+"/")
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("problem %d:\ngot  %s\nwant %s", i, g, w)
		}
	}
}

// TestClientsValid: clients, their lines and scoped tokens are read, the
// disclosure setting defaults to refer, and the stricter retention wins:
// a client limit shorter than the purpose's applies, a longer one does
// not.
func TestClientsValid(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "clients", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	acme, ok := c.Client("acme")
	if !ok || acme.Name != "ACME 株式会社" || acme.Disclosure != DisclosureRefer || !acme.Allows(access.Supervisor) || acme.Allows(access.Auditor) {
		t.Fatalf("got acme %+v", acme)
	}
	if g, _ := c.Client("globex-2"); g.Disclosure != DisclosureAnswer || !g.Allows(access.Auditor) {
		t.Errorf("got globex-2 %+v, want disclosure answer and every role", g)
	}
	if l, _ := c.Line("0120000000"); l.Client != "acme" {
		t.Errorf("got line client %q, want acme", l.Client)
	}
	if got := c.ClientLines("acme"); strings.Join(got, ",") != "0120000000,0120000001" {
		t.Errorf("got acme's lines %v", got)
	}
	if tok := c.API.Tokens[0]; len(tok.Clients) != 1 || tok.Clients[0] != "acme" {
		t.Errorf("got token clients %v", tok.Clients)
	}
	start := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, client, purpose string
		want                  time.Time
	}{
		{"no client: the purpose's 6m", "", "cs", start.AddDate(0, 6, 0)},
		{"client's purpose limit 30d beats its 60d and the purpose's 6m", "acme", "cs", start.AddDate(0, 0, 30)},
		{"client's 60d beats the purpose's 1y; its 2y for the purpose is not stricter", "acme", "sales", start.AddDate(0, 0, 60)},
		{"client without limits: the purpose's", "globex-2", "sales", start.AddDate(1, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := c.RetainUntil(tc.client, tc.purpose, start)
			if !ok || !got.Equal(tc.want) {
				t.Errorf("got %v %v, want %v", got, ok, tc.want)
			}
		})
	}
	if _, ok := c.RetainUntil("nosuch", "cs", start); ok {
		t.Error("an unknown client has a retention date")
	}
	if _, ok := c.RetainUntil("", "nosuch", start); ok {
		t.Error("an unknown purpose has a retention date")
	}
}
