package spool

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSpoolFilesOwnerOnly: with umask 000, what the spool writes about a
// call (its manifest, its dialogs, its wrapped data key, the ballast)
// and the folder itself are not open to other users.
func TestSpoolFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "spool")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteManifest(&Manifest{ID: "0190-a", State: StateActive}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteDialogs(Dialogs{ID: "0190-a"}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteUploadKey("0190-a", UploadKey{KeyID: "k1", Wrapped: []byte{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	if err := d.KeepBallast(64 << 10); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 4 {
		t.Fatalf("got %d files in the spool, want the manifest, dialogs, key and ballast", len(entries))
	}
	for _, e := range append(entries, nil) {
		p, name := path, "the spool folder"
		if e != nil {
			p, name = filepath.Join(path, e.Name()), e.Name()
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m&0o007 != 0 || m&0o020 != 0 {
			t.Errorf("%s: mode %o, want nothing for other users and no group write", name, m)
		}
	}
}
