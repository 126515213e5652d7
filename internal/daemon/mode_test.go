package daemon

import (
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDataFilesOwnerOnly: with umask 000, a first start and a recorded
// call leave nothing under data_dir open to other users and nothing
// group-writable: the master key, the catalog, the spool, the store.
func TestDataFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	d, _ := newDaemon(t)
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	call(t, d, time.Second)
	waitFor(t, "the recording stored", func() bool { return len(stored(t, d)) == 1 })
	dataDir := d.currentConfig().DataDir
	seen := map[string]bool{}
	err := filepath.WalkDir(dataDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dataDir, p)
		seen[rel] = true
		if m := fi.Mode().Perm(); m&0o007 != 0 || m&0o020 != 0 {
			t.Errorf("%s: mode %o, want nothing for other users and no group write", rel, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{filepath.Join("keys", "master.key"), "catalog.db", "spool", "store"} {
		if !seen[want] {
			t.Errorf("walked %v, want %s among them", seen, want)
		}
	}
}
