package s3test

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Version is the versitygw release the tests run; the Makefile's
// s3-server target builds the same one.
const Version = "v1.8.0"

const (
	modulePath  = "github.com/versity/versitygw"
	packagePath = modulePath + "/cmd/versitygw"
	// SkipEnv, set to 1, makes the tests that need the server skip.
	SkipEnv = "KIROKU_S3TEST_SKIP"
)

// Binary returns the path of versitygw Version in the repository's
// .tools/bin, building it there first if it is missing or another
// version. It skips the test when KIROKU_S3TEST_SKIP=1 and fails it when
// the build fails.
func Binary(t testing.TB) string {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("s3test: %s=1, no S3 server", SkipEnv)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	bin := filepath.Join(root, ".tools", "bin", "versitygw")
	if builtVersion(bin) == Version {
		return bin
	}
	if err := build(t, root, bin); err != nil {
		t.Fatalf("s3test: build versitygw %s into %s (`make s3-server` does the same): %v", Version, filepath.Dir(bin), err)
	}
	return bin
}

// repoRoot walks up from the working folder to the one with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working folder")
		}
		dir = parent
	}
}

// builtVersion returns the module version bin was built from, or "" if
// it is missing or not a Go binary.
func builtVersion(bin string) string {
	info, err := buildinfo.ReadFile(bin)
	if err != nil || info.Main.Path != modulePath {
		return ""
	}
	return info.Main.Version
}

// build runs go install under a lock, so that test binaries of several
// packages starting together build it once.
func build(t testing.TB, root, bin string) error {
	dir := filepath.Dir(bin)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(root, ".tools", "versitygw.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file unlocks too
	if builtVersion(bin) == Version {
		return nil // another test binary built it while we waited
	}
	t.Logf("s3test: building versitygw %s into %s; this takes minutes once", Version, dir)
	cmd := exec.CommandContext(t.Context(), "go", "install", packagePath+"@"+Version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w\n%s", err, tail(string(out), 40))
	}
	if v := builtVersion(bin); v != Version {
		return fmt.Errorf("built binary reports version %q", v)
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
