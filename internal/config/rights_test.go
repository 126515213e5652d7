package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckRights(t *testing.T) {
	tests := []struct {
		name string
		r    Rights
		want string // "" for valid
	}{
		{"none", Rights{}, ""},
		{"file and env", Rights{PseudonymKeys: []PseudonymKey{{ID: "k1", File: "a"}, {ID: "k2", Env: "B"}}, Active: "k2"}, ""},
		{"no active", Rights{PseudonymKeys: []PseudonymKey{{ID: "k1", File: "a"}}}, "rights.active"},
		{"unknown active", Rights{PseudonymKeys: []PseudonymKey{{ID: "k1", File: "a"}}, Active: "k9"}, "rights.active"},
		{"both sources", Rights{PseudonymKeys: []PseudonymKey{{ID: "k1", File: "a", Env: "B"}}, Active: "k1"}, "pseudonym_keys[0]"},
		{"twice", Rights{PseudonymKeys: []PseudonymKey{{ID: "k1", File: "a"}, {ID: "k1", File: "b"}}, Active: "k1"}, "pseudonym_keys[1].id"},
		{"colon in id", Rights{PseudonymKeys: []PseudonymKey{{ID: "k:1", File: "a"}}, Active: "k:1"}, "pseudonym_keys[0].id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Config{Rights: tt.r}
			r := &report{bad: map[string]bool{}}
			c.checkRights(r)
			err := r.err()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want a problem naming %s", err, tt.want)
			}
		})
	}
}

func TestPseudonymKeyReadsFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.key"), []byte("0123456789abcdef0123\n"), 0o600)
	t.Setenv("KIROKU_TEST_PSEUDO", "fedcba9876543210fedc")
	c := &Config{Source: filepath.Join(dir, "kiroku.yaml"), Rights: Rights{
		PseudonymKeys: []PseudonymKey{{ID: "f", File: "p.key"}, {ID: "e", Env: "KIROKU_TEST_PSEUDO"}}, Active: "f"}}
	id, k, err := c.PseudonymKey()
	if err != nil || id != "f" || string(k) != "0123456789abcdef0123" {
		t.Errorf("file: got %q %q %v", id, k, err)
	}
	c.Rights.Active = "e"
	if id, k, err := c.PseudonymKey(); err != nil || id != "e" || string(k) != "fedcba9876543210fedc" {
		t.Errorf("env: got %q %q %v", id, k, err)
	}
	c.Rights.Active = ""
	if _, _, err := c.PseudonymKey(); err == nil {
		t.Error("no active key: got no error")
	}
}
