package systemd

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
)

const (
	unitFile = "kirokud.service"
	// execStart is the binary the unit starts; verify needs it to exist, so
	// it checks a copy of the unit that starts a freshly built kirokud.
	execStart = "ExecStart=/usr/local/bin/kirokud "
	// maxExposure is the highest "systemd-analyze security" score allowed,
	// in its tenths, as --threshold takes it: 20 is 2.0.
	maxExposure = 20
)

// analyze returns the path of systemd-analyze, installing Debian's systemd
// package when it is missing; it skips the test only if that fails.
func analyze(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("systemd-analyze"); err == nil {
		return p
	}
	var sudo []string
	if os.Geteuid() != 0 {
		if exec.Command("sudo", "-n", "true").Run() != nil {
			t.Skip("systemd-analyze is missing and cannot be installed: not root and no password-less sudo")
		}
		sudo = []string{"sudo", "-n"}
	}
	for _, args := range [][]string{
		{"apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-qq"},
		{"apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "systemd"},
	} {
		full := append(append([]string{}, sudo...), args...)
		cmd := exec.Command(full[0], full[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("systemd-analyze is missing and cannot be installed: %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is still missing after installing Debian's systemd package")
	}
	return p
}

// TestVerify: systemd-analyze verify accepts the unit without a word;
// it only warns, with exit status 0, about unknown or misspelt keys.
func TestVerify(t *testing.T) {
	sa := analyze(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "kirokud")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/kirokud").CombinedOutput(); err != nil {
		t.Fatalf("build kirokud: %v\n%s", err, out)
	}
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unit, []byte("\n"+execStart)) {
		t.Fatalf("%s has no line starting %q", unitFile, execStart)
	}
	unit = bytes.Replace(unit, []byte("\n"+execStart), []byte("\nExecStart="+bin+" "), 1)
	copyPath := filepath.Join(dir, unitFile)
	if err := os.WriteFile(copyPath, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", copyPath).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: got %v and output:\n%s\nwant exit 0 and no output", err, out)
	}
}

// TestSecurity: the exposure score of the unit stays at or below 2.0.
func TestSecurity(t *testing.T) {
	sa := analyze(t)
	out, err := exec.Command(sa, "security", "--offline=true", "--threshold="+strconv.Itoa(maxExposure), unitFile).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9]+)\.([0-9])`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no overall exposure (%v):\n%s", err, out)
	}
	whole, _ := strconv.Atoi(string(m[1]))
	tenth, _ := strconv.Atoi(string(m[2]))
	t.Logf("exposure score %d.%d", whole, tenth)
	if score := whole*10 + tenth; score > maxExposure || err != nil {
		t.Errorf("got exposure %d.%d (%v), want at most %d.%d; the exposed settings:\n%s",
			whole, tenth, err, maxExposure/10, maxExposure%10, exposed(out))
	}
}

// exposed keeps the lines of a security report that add to the score.
func exposed(report []byte) string {
	var b strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(report))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "✗") {
			b.WriteString(sc.Text() + "\n")
		}
	}
	return b.String()
}

// TestUserAndFolders: sysusers creates the kiroku user and group, and
// tmpfiles then makes /var/lib/kiroku and its spool theirs, mode 0750,
// inside an empty root folder.
func TestUserAndFolders(t *testing.T) {
	analyze(t) // the same package brings systemd-sysusers and systemd-tmpfiles
	if os.Geteuid() != 0 {
		t.Skip("systemd-tmpfiles can give folders to another user only as root")
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"systemd-sysusers", "--root=" + root, abs(t, "kiroku.sysusers")},
		{"systemd-tmpfiles", "--root=" + root, "--create", abs(t, "kiroku.tmpfiles")},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	passwd, err := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^kiroku:x:([0-9]+):([0-9]+):[^:]*:/var/lib/kiroku:`).FindSubmatch(passwd)
	if m == nil {
		t.Fatalf("got passwd\n%s\nwant a kiroku user with home /var/lib/kiroku", passwd)
	}
	uid, _ := strconv.Atoi(string(m[1]))
	gid, _ := strconv.Atoi(string(m[2]))
	for _, p := range []string{"var/lib/kiroku", "var/lib/kiroku/spool"} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.IsDir() || fi.Mode().Perm() != 0o750 || int(st.Uid) != uid || int(st.Gid) != gid {
			t.Errorf("/%s: got %v owned by %d:%d, want a folder 0750 owned by kiroku %d:%d",
				p, fi.Mode(), st.Uid, st.Gid, uid, gid)
		}
	}
}

func abs(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSizedForDefaults: the unit's limits follow kirokud's defaults, which
// systemd-analyze cannot know.
func TestSizedForDefaults(t *testing.T) {
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	get := func(key string) string {
		m := regexp.MustCompile(`(?m)^` + key + `=(.*)$`).FindSubmatch(unit)
		if m == nil {
			t.Fatalf("%s sets no %s", unitFile, key)
		}
		return string(m[1])
	}
	stop, err := time.ParseDuration(get("TimeoutStopSec"))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	if drain := time.Duration(config.DefaultDrainTimeout); stop <= drain {
		t.Errorf("got TimeoutStopSec=%v, want more than the default drain_timeout %v", stop, drain)
	}
	nofile, err := strconv.Atoi(get("LimitNOFILE"))
	if err != nil {
		t.Fatalf("LimitNOFILE: %v", err)
	}
	// Two legs of RTP and RTCP per call, then SIP, spool files and the rest.
	if want := 4*config.DefaultMaxCalls + 1024; nofile < want {
		t.Errorf("got LimitNOFILE=%d, want at least %d for %d calls", nofile, want, config.DefaultMaxCalls)
	}
	tmpfiles, err := os.ReadFile("kiroku.tmpfiles")
	if err != nil {
		t.Fatal(err)
	}
	rw := get("ReadWritePaths")
	if !regexp.MustCompile(`(?m)^d ` + regexp.QuoteMeta(rw) + ` `).Match(tmpfiles) {
		t.Errorf("ReadWritePaths=%s is not a folder kiroku.tmpfiles creates", rw)
	}
}
