package contract_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
	"github.com/kiroku-voice/kiroku/storage/fs"
)

// clientKeyEnv is an env whose client acme has a master key of its own,
// in a file, and the keyring as kirokud would build it from that file.
func clientKeyEnv(t *testing.T, db catalogtest.DB, n int) (*env, string, func() *crypt.Keyring) {
	t.Helper()
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "acme.key")
	if err := os.WriteFile(keyPath, []byte(hex.EncodeToString(bytes.Repeat([]byte{0x5a}, crypt.KeySize))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func() *crypt.Keyring {
		k, _ := crypt.NewKeyring("a", map[string][]byte{"a": bytes.Repeat([]byte("k"), crypt.KeySize)})
		key, err := crypt.LoadKeyFile(keyPath)
		switch {
		case errors.Is(err, crypt.ErrKeyDestroyed):
			k.MarkDestroyed("acme")
		case err != nil:
			t.Fatal(err)
		default:
			if err := k.AddClient("acme", "acme-1", map[string][]byte{"acme-1": key}); err != nil {
				t.Fatal(err)
			}
		}
		return k
	}
	e := newEnvKeys(t, db, n, dir, load())
	svc, err := contract.New(contract.Options{Catalog: e.cat, Store: e.st, Keys: e.keys, Bucket: "kiroku",
		Target:   func(context.Context, string) (storage.Store, error) { return fs.New(filepath.Join(dir, "target")) },
		KeyFiles: func(client string) map[string]string { return map[string]string{"acme-1": keyPath} }})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e, keyPath, load
}

// backup is what a copy of the catalog and of the bucket taken before a
// contract end holds of one recording: its wrapped data key and its
// manifest object.
type backup struct {
	id, keyID string
	wrapped   []byte
	manifest  string
}

func (e *env) backup(t *testing.T) ([]backup, storage.Store) {
	t.Helper()
	var out []backup
	for _, id := range e.ids {
		r, err := e.cat.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, backup{id: id, keyID: r.KeyID, wrapped: r.WrappedKey, manifest: r.ManifestKey})
	}
	dst := filepath.Join(t.TempDir(), "bucket-copy")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(e.dir, "store"))); err != nil {
		t.Fatal(err)
	}
	st, err := fs.New(dst)
	if err != nil {
		t.Fatal(err)
	}
	return out, st
}

// TestClientKeyDestroyed: a client with a master key of its own gets its
// recordings wrapped and their manifests sealed with it; its contract end
// destroys the key's file once every recording is returned and
// destroyed, and says so on the certificate with the key's fingerprint;
// then a copy of the catalog and of the bucket taken before the run no
// longer opens — not the data keys, not the manifests — with the keys
// kirokud loads, while what the global key wrapped still does.
func TestClientKeyDestroyed(t *testing.T) {
	catalogtest.Each(t, testClientKeyDestroyed)
}

func testClientKeyDestroyed(t *testing.T, db catalogtest.DB) {
	e, keyPath, load := clientKeyEnv(t, db, 3)
	saved, copyStore := e.backup(t)
	for _, b := range saved {
		if b.keyID != "acme-1" {
			t.Fatalf("%s: data key wrapped with %q, want the client's acme-1", b.id, b.keyID)
		}
		if _, err := recording.OpenManifest(t.Context(), copyStore, load(), b.manifest); err != nil {
			t.Fatalf("%s: the manifest copy does not open before the run: %v", b.id, err)
		}
	}
	global := bytes.Repeat([]byte{1}, crypt.KeySize)
	gID, gWrapped, err := e.keys.Wrap(global, "not-acme")
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := e.keys.Fingerprint("acme-1")

	cert, err := e.svc.ReturnS3(t.Context(), "adm", acme, contract.Target{Kind: contract.KindS3, Bucket: "returns"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Keys) != 1 || cert.Keys[0] != (contract.Key{ID: "acme-1", Fingerprint: fp, State: contract.KeyDestroyed}) {
		t.Errorf("certificate keys: %+v, want acme-1 destroyed with fingerprint %s", cert.Keys, fp)
	}
	if _, err := crypt.LoadKeyFile(keyPath); !errors.Is(err, crypt.ErrKeyDestroyed) {
		t.Errorf("the key file after the run: %v, want ErrKeyDestroyed", err)
	}
	after := load()
	for _, b := range saved {
		for name, k := range map[string]*crypt.Keyring{"kirokud's keys at the next start": after, "the running keyring": e.keys} {
			if _, err := k.Unwrap(b.keyID, b.wrapped, b.id); !errors.Is(err, crypt.ErrUnknownKey) {
				t.Errorf("%s: the backed-up data key opens with %s: %v", b.id, name, err)
			}
		}
		if _, err := recording.OpenManifest(t.Context(), copyStore, after, b.manifest); !errors.Is(err, crypt.ErrUnknownKey) {
			t.Errorf("%s: the bucket copy's manifest: %v, want ErrUnknownKey", b.id, err)
		}
	}
	if got, err := after.Unwrap(gID, gWrapped, "not-acme"); err != nil || !bytes.Equal(got, global) {
		t.Errorf("a data key of the global key after acme's contract end: %v", err)
	}
	if _, _, err := after.WrapFor("acme", global, "late"); !errors.Is(err, crypt.ErrKeyDestroyed) {
		t.Errorf("a new acme recording after the run: %v, want ErrKeyDestroyed", err)
	}
	es, err := audit.List(t.Context(), e.cat.DB(), audit.Filter{Action: string(audit.ActionContractEndKeyDestroy)})
	if err != nil || len(es) != 1 || es[0].Target != cert.Run {
		t.Errorf("key destruction audit: %+v %v", es, err)
	}
	if !bytes.Contains([]byte(cert.Text()), []byte("acme-1 (fingerprint "+fp+")")) {
		t.Errorf("the certificate's text does not name the destroyed key:\n%s", cert.Text())
	}
}

// TestClientKeyKeptWhileHeld: a recording of the client under legal hold
// keeps its data key wrapped with the client's key, so the key is kept,
// the certificate says why, and the held recording still opens.
func TestClientKeyKeptWhileHeld(t *testing.T) {
	catalogtest.Each(t, testClientKeyKeptWhileHeld)
}

func testClientKeyKeptWhileHeld(t *testing.T, db catalogtest.DB) {
	e, keyPath, load := clientKeyEnv(t, db, 2)
	held := e.ids[0]
	if err := e.cat.Tx(t.Context(), func(tx *sql.Tx) error { return catalog.SetHold(t.Context(), tx, true, "訴訟", held) }); err != nil {
		t.Fatal(err)
	}
	cert, err := e.svc.ReturnS3(t.Context(), "adm", acme, contract.Target{Kind: contract.KindS3, Bucket: "returns"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Keys) != 1 || cert.Keys[0].State != contract.KeyKept || cert.Keys[0].Why == "" {
		t.Errorf("certificate keys: %+v, want acme-1 kept with why", cert.Keys)
	}
	r, err := e.cat.Get(t.Context(), held)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := load().Unwrap(r.KeyID, r.WrappedKey, r.ID); err != nil {
		t.Errorf("the held recording's key after the run: %v", err)
	}
	if _, err := crypt.LoadKeyFile(keyPath); err != nil {
		t.Errorf("the key file: %v", err)
	}
}
