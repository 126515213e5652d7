package audiotest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// packages maps each tool to the Debian package that ships it.
var packages = map[string]string{"espeak-ng": "espeak-ng", "sox": "sox", "flac": "flac", "opusdec": "opus-tools"}

var (
	installMu  sync.Mutex
	installErr = map[string]error{}
)

// need returns the path of tool, installing its Debian package when it
// is missing and the test runs as root, and skips the test otherwise.
func need(t testing.TB, tool string) string {
	t.Helper()
	if p, err := exec.LookPath(tool); err == nil {
		return p
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s is missing and the test is not root to install Debian's %s (make test-deps does)", tool, packages[tool])
	}
	installMu.Lock()
	err, done := installErr[tool]
	if !done {
		err = install(tool)
		installErr[tool] = err
	}
	installMu.Unlock()
	if err != nil {
		t.Fatalf("install %s: %v", packages[tool], err)
	}
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s installed but not on PATH: %v", packages[tool], err)
	}
	return p
}

// install installs the package of tool with apt-get, under a lock so
// that test binaries of several packages starting together run it once.
func install(tool string) error {
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "kiroku-audiotest-apt.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file unlocks too
	if _, err := exec.LookPath(tool); err == nil {
		return nil // another test binary installed it while we waited
	}
	for _, args := range [][]string{
		{"-o", "DPkg::Lock::Timeout=300", "update", "-qq"},
		{"-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "--no-install-recommends", packages[tool]},
	} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, tail(string(out), 20))
		}
	}
	return nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
