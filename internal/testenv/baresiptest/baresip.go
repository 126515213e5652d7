package baresiptest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options describe one user agent.
type Options struct {
	// User is the account's user part (caller, agent…).
	User string
	// Listen is the SIP address, "127.0.0.1:PORT"; baresip takes UDP and
	// TCP on PORT and TLS on PORT+1. Empty: any free port.
	Listen string
	// Transport of the account's requests: udp (default), tcp or tls.
	Transport string
	// MediaEnc is baresip's media encryption: "" (plain RTP), "srtp"
	// (best effort: RTP/AVP with crypto lines), "srtp-mand" (RTP/SAVP
	// only) or "srtp-mandf" (RTP/SAVPF).
	MediaEnc string
	// Source is the WAV file played into the call (mono 16-bit, at the
	// codec's rate: 8 kHz for G.711, 16 kHz for G.722); baresip hangs up
	// when it ends.
	Source string
	// Codecs are the audio codec modules baresip loads, in its order of
	// preference: "g711" (the default), "g722"…
	Codecs []string
	// Dump writes what baresip hears and sends to WAV files (its sndfile
	// module), for Heard.
	Dump bool
	// AutoAnswer answers incoming calls at once.
	AutoAnswer bool
	// CAFile is the PEM bundle TLS peers' certificates must chain to.
	CAFile string
	// Certificate is a PEM file holding baresip's TLS certificate and
	// key (needed to take calls over TLS).
	Certificate string
	// Dial is a SIP URI called at start.
	Dial string
	// Quit ends baresip after this long (default 30 s).
	Quit time.Duration
	// DefaultNetwork leaves net_interface unset, as a new user's
	// baresip has it: its SDP may then name the machine's other address
	// while its RTP to a loopback peer comes from 127.0.0.1.
	DefaultNetwork bool
}

// UA is a running baresip.
type UA struct {
	cmd  *exec.Cmd
	dir  string
	done chan struct{}

	mu  sync.Mutex
	out bytes.Buffer
	err error
}

// Need skips t when baresip is not installed (make test installs it).
func Need(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("baresip")
	if err != nil {
		t.Skip("baresip is not installed (Debian package baresip-core; make test installs it)")
	}
	return path
}

// ModuleDir is where Debian puts baresip's modules.
const ModuleDir = "/usr/lib/baresip/modules"

// Start writes a configuration for o under a test directory and starts
// baresip with it; the process is stopped when the test ends.
func Start(t testing.TB, o Options) *UA {
	t.Helper()
	bin := Need(t)
	if o.User == "" {
		o.User = "ua"
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Quit == 0 {
		o.Quit = 30 * time.Second
	}
	dir := t.TempDir()
	var conf strings.Builder
	line := func(k, v string) { fmt.Fprintf(&conf, "%-24s%s\n", k, v) }
	line("poll_method", "epoll")
	line("sip_listen", o.Listen)
	if !o.DefaultNetwork {
		line("net_interface", "127.0.0.1") // else the SDP names the machine's other address
	}
	if o.CAFile != "" {
		line("sip_cafile", o.CAFile)
	}
	if o.Certificate != "" {
		line("sip_certificate", o.Certificate)
	}
	if o.Source != "" {
		line("audio_source", "aufile,"+o.Source)
	}
	line("audio_player", "aufile,"+filepath.Join(dir, "heard.wav"))
	line("audio_alert", "aufile,"+filepath.Join(dir, "alert.wav"))
	line("rtp_ports", "36000-36999")
	line("module_path", ModuleDir)
	if len(o.Codecs) == 0 {
		o.Codecs = []string{"g711"}
	}
	mods := append(o.Codecs, "aufile", "srtp")
	if o.Dump {
		line("snd_path", dir)
		mods = append(mods, "sndfile")
	}
	for _, m := range mods {
		line("module", m+".so")
	}
	line("module_app", "account.so")
	line("module_app", "menu.so")
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	host := strings.SplitN(o.Listen, ":", 2)[0]
	aor := "<sip:" + o.User + "@" + host
	if o.Transport != "" && o.Transport != "udp" {
		aor += ";transport=" + o.Transport
	}
	aor += ">;regint=0"
	if o.MediaEnc != "" {
		aor += ";mediaenc=" + o.MediaEnc
	}
	if o.AutoAnswer {
		aor += ";answermode=auto"
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(aor+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", dir, "-t", fmt.Sprint(int(o.Quit.Seconds()))}
	if o.Dial != "" {
		args = append(args, "-e", "/dial "+o.Dial)
	}
	u := &UA{dir: dir, done: make(chan struct{})}
	u.cmd = exec.Command(bin, args...)
	u.cmd.Dir = dir
	u.cmd.Stdout = u
	u.cmd.Stderr = u
	if err := u.cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	go func() {
		err := u.cmd.Wait()
		u.mu.Lock()
		u.err = err
		u.mu.Unlock()
		close(u.done)
	}()
	t.Cleanup(func() {
		u.cmd.Process.Kill()
		<-u.done
		if t.Failed() {
			t.Logf("baresip %s output:\n%s", o.User, u.Output())
		}
	})
	return u
}

// Heard is the WAV file of what baresip heard in its call (decoded, as
// its sndfile module dumps it under Options.Dump), whole once the call has
// ended; "" when there is none.
func (u *UA) Heard() string {
	m, _ := filepath.Glob(filepath.Join(u.dir, "dump-*-dec.wav"))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// Write collects baresip's output (it implements io.Writer for the
// process's stdout and stderr).
func (u *UA) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.out.Write(p)
}

// Output is what baresip printed so far, without its status line
// redraws.
func (u *UA) Output() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var b strings.Builder
	for _, l := range strings.Split(u.out.String(), "\n") {
		if strings.HasPrefix(l, "//") || strings.Contains(l, "(bit/s)") {
			continue // the typed command echo and the status line
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// WaitFor waits until baresip has printed s.
func (u *UA) WaitFor(ctx context.Context, s string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(u.Output(), s) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("baresip never printed %q", s)
		case <-u.done:
			if strings.Contains(u.Output(), s) {
				return nil
			}
			return fmt.Errorf("baresip ended without printing %q", s)
		case <-tick.C:
		}
	}
}

// Stop asks baresip to quit (SIGINT: it ends its calls and closes its
// files, so Heard is whole) and waits up to 5 s for it.
func (u *UA) Stop() {
	u.cmd.Process.Signal(os.Interrupt) //nolint:errcheck // it may have exited already
	select {
	case <-u.done:
	case <-time.After(5 * time.Second):
	}
}

// Wait waits for baresip to exit.
func (u *UA) Wait(ctx context.Context) error {
	select {
	case <-u.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
