package daemon

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStoreTempsSwept: a temporary an interrupted fs store Put left
// (older than storeTempAge) is removed once the daemon starts; a young
// one, which may be a Put in progress, stays.
func TestStoreTempsSwept(t *testing.T) {
	d, _ := newDaemon(t)
	dir := filepath.Join(d.currentConfig().Storage.Dir, "cs-quality")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	old, young := filepath.Join(dir, ".kiroku-tmp-old"), filepath.Join(dir, ".kiroku-tmp-young")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, make([]byte, 10), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-storeTempAge - time.Minute)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the old temporary removed", func() bool {
		_, err := os.Stat(old)
		return os.IsNotExist(err)
	})
	if _, err := os.Stat(young); err != nil {
		t.Errorf("the young temporary: %v, want it kept", err)
	}
}
