// Package kamailiotest runs Kamailio (Debian's kamailio package) on
// loopback with the project's dispatcher configuration
// (configs/kamailio/kamailio.cfg), in front of kirokud nodes under test.
//
// It must not be used outside tests.
package kamailiotest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options describe one Kamailio.
type Options struct {
	Listen string   // "127.0.0.1:PORT" (UDP)
	Nodes  []string // kirokud addresses, "127.0.0.1:PORT"
	// PingInterval is the OPTIONS ping period (seconds, default 1).
	PingInterval int
}

// Kamailio is a running Kamailio.
type Kamailio struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu  sync.Mutex
	out bytes.Buffer
}

// Need skips t when Kamailio is not installed (make test installs it).
func Need(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("kamailio")
	if err != nil {
		if p := "/usr/sbin/kamailio"; fileExists(p) {
			return p
		}
		t.Skip("kamailio is not installed (Debian package kamailio; make test installs it)")
	}
	return path
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ConfigFile is the shipped configuration the tests run.
func ConfigFile(t testing.TB) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "..", "configs", "kamailio", "kamailio.cfg")
}

// Start checks and starts Kamailio with the shipped configuration, the
// nodes as dispatcher set 1; it is stopped when the test ends.
func Start(t testing.TB, o Options) *Kamailio {
	t.Helper()
	bin := Need(t)
	if o.PingInterval == 0 {
		o.PingInterval = 1
	}
	dir := t.TempDir()
	var list strings.Builder
	for i, n := range o.Nodes {
		fmt.Fprintf(&list, "1 sip:%s 0 0 duid=node%d\n", n, i)
	}
	nodes := filepath.Join(dir, "dispatcher.list")
	if err := os.WriteFile(nodes, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", ConfigFile(t),
		"-A", "KIROKU_LISTEN=udp:" + o.Listen,
		"-A", fmt.Sprintf("KIROKU_NODES=%q", nodes),
		"-A", fmt.Sprintf("KIROKU_PING_INTERVAL=%d", o.PingInterval),
		"-Y", dir, "-P", filepath.Join(dir, "kamailio.pid"), "-w", dir}
	if out, err := exec.Command(bin, append([]string{"-c"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("kamailio -c: %v\n%s", err, out)
	}
	k := &Kamailio{done: make(chan struct{})}
	k.cmd = exec.Command(bin, append([]string{"-DD", "-E"}, args...)...)
	k.cmd.Stdout, k.cmd.Stderr = k, k
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its children die with it
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("start kamailio: %v", err)
	}
	go func() {
		k.cmd.Wait()
		close(k.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
		<-k.done
		if t.Failed() {
			t.Logf("kamailio output (last 8 KiB):\n%s", k.tail(8<<10))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !answersOptions(o.Listen) {
		select {
		case <-k.done:
			t.Fatalf("kamailio ended at start:\n%s", k.tail(8<<10))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio does not answer OPTIONS:\n%s", k.tail(8<<10))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return k
}

// answersOptions sends one OPTIONS to Kamailio itself and reports
// whether a 200 came back.
func answersOptions(addr string) bool {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg := "OPTIONS sip:" + addr + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK" + strconv.FormatInt(time.Now().UnixNano(), 36) +
		"\r\nFrom: <sip:probe@" + local + ">;tag=probe\r\nTo: <sip:" + addr + ">\r\nCall-ID: " + strconv.FormatInt(time.Now().UnixNano(), 36) +
		"@probe\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		return false
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	return err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200")
}

// Write collects Kamailio's log (stderr).
func (k *Kamailio) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.out.Write(p)
}

// Output is everything Kamailio logged so far.
func (k *Kamailio) Output() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.out.String()
}

func (k *Kamailio) tail(n int) string {
	s := k.Output()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}
