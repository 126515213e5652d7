package daemon

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// TestClientKeyring: a client's own key, named in its encryption, wraps
// its recordings' data keys; once its file is destroyed the next
// keyring has no key for the client (its new recordings stay in the
// spool) and the global key still works; a missing file is an error
// naming the client and key.
func TestClientKeyring(t *testing.T) {
	dir := t.TempDir()
	writeNotice(t, dir)
	keyPath := filepath.Join(dir, "keys", "acme.key")
	os.MkdirAll(filepath.Dir(keyPath), 0o700)
	if err := os.WriteFile(keyPath, []byte(hex.EncodeToString(bytes.Repeat([]byte{7}, crypt.KeySize))), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(writeConfig(t, dir, "90d", `clients:
  - id: acme
    name: ACME
    encryption: {active_key: acme-1, keys: [{id: acme-1, file: keys/acme.key}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	dk := bytes.Repeat([]byte{1}, crypt.KeySize)
	if id, _, err := k.WrapFor("acme", dk, "r1"); err != nil || id != "acme-1" {
		t.Errorf("acme's recording wrapped with %q (%v), want acme-1", id, err)
	}
	gid, gw, err := k.WrapFor("", dk, "r2")
	if err != nil || gid != "master" {
		t.Fatalf("a recording of no client wrapped with %q (%v), want the master key", gid, err)
	}
	if err := crypt.DestroyKeyFile(keyPath, "test"); err != nil {
		t.Fatal(err)
	}
	k2, err := keyring(cfg, zap.NewNop())
	if err != nil {
		t.Fatalf("start with acme's key destroyed: %v", err)
	}
	if _, _, err := k2.WrapFor("acme", dk, "r3"); !errors.Is(err, crypt.ErrKeyDestroyed) {
		t.Errorf("acme after its key's destruction: %v, want ErrKeyDestroyed", err)
	}
	if got, err := k2.Unwrap(gid, gw, "r2"); err != nil || !bytes.Equal(got, dk) {
		t.Errorf("the master key after acme's destruction: %v", err)
	}
	os.Remove(keyPath)
	if _, err := keyring(cfg, zap.NewNop()); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`client acme: encryption key "acme-1"`)) {
		t.Errorf("a missing client key file: %v", err)
	}
}

// TestClientKeysReload: a client given keys of its own in a reloaded
// configuration has its next recordings wrapped with them at once (before
// the reload they were wrapped with the global key, which a contract end
// cannot destroy); a reload naming a missing key file, or a key id whose
// file now holds another key, is refused and the keys in force stay.
func TestClientKeysReload(t *testing.T) {
	const client = "clients:\n  - id: acme\n    name: ACME\n"
	d, path := newDaemon(t, client)
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if id, _ := d.Keys().ActiveFor("acme"); id != "master" {
		t.Fatalf("acme before the reload: key %q, want master", id)
	}
	keyPath := filepath.Join(dir, "acme.key")
	write := func(b byte) {
		if err := os.WriteFile(keyPath, []byte(hex.EncodeToString(bytes.Repeat([]byte{b}, crypt.KeySize))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(7)
	withKey := client + "    encryption: {active_key: acme-1, keys: [{id: acme-1, file: acme.key}]}\n"
	writeConfig(t, dir, "90d", withKey)
	if err := d.Reload(t.Context()); err != nil {
		t.Fatalf("reload with acme's own key: %v", err)
	}
	dk := bytes.Repeat([]byte{1}, crypt.KeySize)
	id, wrapped, err := d.Keys().WrapFor("acme", dk, "r1")
	if err != nil || id != "acme-1" {
		t.Fatalf("acme after the reload: wrapped with %q (%v), want acme-1", id, err)
	}
	write(8)
	if err := d.Reload(t.Context()); err == nil || !strings.Contains(err.Error(), "holds another key") {
		t.Errorf("reload with acme-1's file holding another key: %v, want refused", err)
	}
	os.Remove(keyPath)
	if err := d.Reload(t.Context()); err == nil || !strings.Contains(err.Error(), `client acme: encryption key "acme-1"`) {
		t.Errorf("reload with acme's key file missing: %v, want refused naming it", err)
	}
	if got, err := d.Keys().Unwrap("acme-1", wrapped, "r1"); err != nil || !bytes.Equal(got, dk) {
		t.Errorf("acme-1 after refused reloads: %v, want the key in force unchanged", err)
	}
}
