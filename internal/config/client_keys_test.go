package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestClientKeysInvalid: a client's own keys are files with ids no other
// key has, one of them active.
func TestClientKeysInvalid(t *testing.T) {
	want := []string{
		`keys_invalid.yaml:11: clients[0].encryption.active_key: required when keys are listed`,
		`keys_invalid.yaml:13: clients[0].encryption.keys[0].id: "g1" is also a key of encryption.keys: key ids are unique among every key configured`,
		`keys_invalid.yaml:14: clients[0].encryption.keys[1]: give file (and no env): a client's key is a file, which its contract end destroys`,
		`keys_invalid.yaml:15: clients[0].encryption.keys[2].id: required: a word naming the key, such as "acme-2026"`,
		`keys_invalid.yaml:16: clients[0].encryption.keys[3].id: "acme-3" is also a key of client globex: key ids are unique among every key configured`,
		`keys_invalid.yaml:17: clients[0].encryption.keys[4].id: "acme-3" is listed twice`,
		`keys_invalid.yaml:21: clients[1].encryption.active_key: "nosuch" is not one of its keys`,
		`keys_invalid.yaml:22: clients[1].encryption.keys[0].id: "acme-3" is also a key of client acme: key ids are unique among every key configured`,
	}
	_, err := Load(filepath.Join("testdata", "clients", "keys_invalid.yaml"))
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
