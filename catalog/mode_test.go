package catalog

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestCatalogFilesOwnerOnly: with umask 000, the catalog, its WAL and its
// shared-memory file are created 0600; a catalog left 0644 by another
// tool is made 0600 when opened.
func TestCatalogFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.Exec(`CREATE TABLE mode_probe (x)`); err != nil { // makes the WAL grow
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), m)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("reopened: mode %o, want 600", fi.Mode().Perm())
	}
}
