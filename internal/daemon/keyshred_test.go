package daemon

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// TestKeyCopiesShredded: a contract end on one node destroys its file of
// a client's key; the other nodes sharing the catalog hold copies. A node
// seeing the destruction in the audit log destroys its copy of that key
// (same id and fingerprint), forgets it and audits the copy's
// destruction; a key under the same id with another fingerprint is left
// alone; and a node started later over the same catalog with a copy
// (restored from a backup, say) destroys it before using it.
func TestKeyCopiesShredded(t *testing.T) {
	catDir := t.TempDir()
	key := bytes.Repeat([]byte{7}, crypt.KeySize)
	node := func(t *testing.T) (*Daemon, string) {
		dir := t.TempDir()
		writeNotice(t, dir)
		keyPath := filepath.Join(dir, "acme.key")
		if err := os.WriteFile(keyPath, []byte(hex.EncodeToString(key)), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(writeConfig(t, dir, "90d", "catalog: {path: "+filepath.Join(catDir, "catalog.db")+"}\n",
			"clients:\n  - id: acme\n    name: ACME\n    encryption: {active_key: acme-1, keys: [{id: acme-1, file: acme.key}]}\n"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := New(t.Context(), cfg, cfg.Source, zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		return d, keyPath
	}
	d, keyPath := node(t)
	fp, err := d.Keys().Fingerprint("acme-1")
	if err != nil {
		t.Fatal(err)
	}
	destroyedElsewhere := func(fingerprint string) {
		t.Helper()
		if _, err := audit.Append(t.Context(), d.catalog.DB(), audit.Entry{Actor: "adm", Action: audit.ActionContractEndKeyDestroy, Target: "run-1",
			Detail: `{"client":"acme","key_id":"acme-1","fingerprint":"` + fingerprint + `"}`}); err != nil {
			t.Fatal(err)
		}
	}
	destroyedElsewhere(strings.Repeat("0", 16))
	seq, err := d.shredCopies(t.Context(), d.shredSeq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.LoadKeyFile(keyPath); err != nil {
		t.Fatalf("another key's destruction destroyed this one: %v", err)
	}
	destroyedElsewhere(fp)
	if _, err := d.shredCopies(t.Context(), seq); err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.LoadKeyFile(keyPath); !errors.Is(err, crypt.ErrKeyDestroyed) {
		t.Errorf("this node's copy after the destruction: %v, want it destroyed", err)
	}
	if _, _, err := d.Keys().WrapFor("acme", key, "r1"); !errors.Is(err, crypt.ErrKeyDestroyed) {
		t.Errorf("wrapping for acme after the destruction: %v, want ErrKeyDestroyed", err)
	}
	es, err := audit.List(t.Context(), d.catalog.DB(), audit.Filter{Action: string(audit.ActionContractEndKeyDestroy), Actor: "kirokud"})
	if err != nil || len(es) != 1 || !strings.Contains(es[0].Detail, `"copy_of":`) || es[0].Target != "run-1" {
		t.Fatalf("copy's destruction audited as %+v (%v), want one entry naming the run and the original", es, err)
	}
	closeBuilt(d)

	d2, keyPath2 := node(t)
	defer closeBuilt(d2)
	if _, err := crypt.LoadKeyFile(keyPath2); !errors.Is(err, crypt.ErrKeyDestroyed) {
		t.Errorf("a copy on a node started after the destruction: %v, want destroyed at start", err)
	}
	if _, _, err := d2.Keys().WrapFor("acme", key, "r2"); !errors.Is(err, crypt.ErrKeyDestroyed) {
		t.Errorf("wrapping for acme on the later node: %v, want ErrKeyDestroyed", err)
	}
}
