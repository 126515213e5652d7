package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/access"
)

// writeCertPair writes a self-signed certificate and its key as PEM.
func writeCertPair(t *testing.T, certPath, keyPath string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kiroku api"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"kiroku.example"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(priv)
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// TestAPIInvalid: every problem of the api section is reported with its
// line and key, and no message repeats a token hash.
func TestAPIInvalid(t *testing.T) {
	for _, tt := range []struct {
		file string
		want []string
	}{
		{"invalid.yaml", []string{
			`invalid.yaml:4: api.listen: 192.0.2.10 is not a loopback address: plain HTTP is allowed only on loopback; set api.tls_cert and api.tls_key`,
			`invalid.yaml:5: api.tls_cert: set, but api.tls_key is not: the two go together`,
			`invalid.yaml:7: api.tokens[0].name: required: the name the audit log shows for this token`,
			`invalid.yaml:8: api.tokens[1].name: "yamada taro" may hold only 1 to 64 letters, digits, '.', '_', '@' and '-'`,
			`invalid.yaml:9: api.tokens[2].roles: at least one role is required (supervisor, privacy-officer, auditor or admin)`,
			`invalid.yaml:10: api.tokens[3].name: "sato" repeats api.tokens[2]`,
			`invalid.yaml:10: api.tokens[3].roles[0]: "root" is not a role (want supervisor, privacy-officer, auditor or admin)`,
			`invalid.yaml:10: api.tokens[3].roles[2]: "auditor" is listed twice`,
			`invalid.yaml:11: api.tokens[4].sha256: required: the SHA-256 of the token in hex (kirokuctl token new makes a token and its hash)`,
			`invalid.yaml:12: api.tokens[5].sha256: is not 64 hex digits (the SHA-256 of the token)`,
			`invalid.yaml:13: api.tokens[6].sha256: is not 64 hex digits (the SHA-256 of the token)`,
			`invalid.yaml:14: api.tokens[7].sha256: is the same token as api.tokens[0]: give each person their own`,
		}},
		{"no-tokens.yaml", []string{
			`no-tokens.yaml:3: api.tokens: at least one token is required when api.listen is set (or api.first_run_token: true)`,
			`no-tokens.yaml:4: api.listen: "localhost:8443" is not an IP:port such as "127.0.0.1:8443"`,
		}},
		{"first-run.yaml", []string{
			`first-run.yaml:4: api.first_run_token: set, but api.listen is not: the token is for the API`,
			`first-run.yaml:6: api.tokens[0].name: "first-run-admin" is the first-run token's name (api.first_run_token is set)`,
		}},
		{"bad-cert.yaml", []string{
			`bad-cert.yaml:5: api.tls_cert: cannot load the certificate and key: tls: failed to find any PEM data in certificate input`,
		}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", "api", tt.file))
			if err == nil {
				t.Fatal("got no error")
			}
			got := strings.Split(err.Error(), "\n")
			for i := range max(len(got), len(tt.want)) {
				var g, w string
				if i < len(got) {
					g = strings.TrimPrefix(g+got[i], filepath.Join("testdata", "api")+"/")
				}
				if i < len(tt.want) {
					w = tt.want[i]
				}
				if g != w {
					t.Errorf("problem %d:\ngot  %s\nwant %s", i, g, w)
				}
			}
		})
	}
}

// TestAPIValid: TLS off loopback, certificate paths relative to the
// file, hashes in any case, roles looked up.
func TestAPIValid(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/api/tls.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "kirokud.yaml"), b, 0o600)
	writeCertPair(t, filepath.Join(dir, "api.pem"), filepath.Join(dir, "api.key"))
	c, err := Load(filepath.Join(dir, "kirokud.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a := c.API
	if !a.TLS() || a.TLSCert != filepath.Join(dir, "api.pem") || a.TLSKey != filepath.Join(dir, "api.key") {
		t.Errorf("got %+v, want TLS with paths resolved against %s", a, dir)
	}
	sum := sha256.Sum256([]byte("alice's token"))
	tok := a.Tokens[0]
	if string(tok.Hash) != string(sum[:]) || !tok.HasRole(access.PrivacyOfficer) || tok.HasRole(access.Auditor) {
		t.Errorf("got token %+v, want the hash of \"alice's token\" decoded and roles supervisor, privacy-officer", tok)
	}
	// A valid configuration validates again to the same (Validate is
	// idempotent).
	if err := c.Validate(); err != nil || string(c.API.Tokens[0].Hash) != string(sum[:]) {
		t.Errorf("Validate again: %v", err)
	}
}

// TestAPIOnLoopbackByDefault: the embedded defaults serve the API and UI
// on loopback, over plain HTTP, with no configured token but the
// first-run one.
func TestAPIOnLoopbackByDefault(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if a := c.API; a.Listen != "127.0.0.1:8443" || a.TLS() || len(a.Tokens) != 0 || !a.FirstRunToken {
		t.Errorf("got %+v, want 127.0.0.1:8443 with the first-run token only", a)
	}
}

// TestAPIMaxListeners: api.max_listeners is 20 unless the file sets it.
func TestAPIMaxListeners(t *testing.T) {
	base := "sip:\n  listen: [\"udp://127.0.0.1:5060\"]\npurposes:\n  - {name: cs-quality, description: d, retention: 90d, listeners: [supervisor]}\nlines: []\n"
	for _, c := range []struct {
		name, yaml string
		want       int
	}{
		{"not set", base, DefaultMaxListeners},
		{"set", base + "api:\n  max_listeners: 3\n", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(c.yaml), "kirokud.yaml", os.DirFS(t.TempDir()), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.API.MaxListeners; got != c.want {
				t.Errorf("got api.max_listeners %d, want %d", got, c.want)
			}
		})
	}
}
