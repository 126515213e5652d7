// Package tmpfstest mounts a small tmpfs for a test: a disk the test can
// fill to its last byte without touching the machine's own.
//
// It must not be used outside tests.
package tmpfstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Mount makes dir (created if need be) a tmpfs of size (mount's size=,
// such as "4m") until the test ends, and returns dir. It skips the test
// where mounting is not possible: not root, or no tmpfs.
func Mount(t *testing.T, dir, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting the test's tmpfs needs root")
	}
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}
