package linphonetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
)

// Options describe one linphonec.
type Options struct {
	// User is the user part of its address (the caller's number).
	User string
	// Source is the WAV file played as its microphone once a call is up
	// (linphone resamples it to the codec's rate); empty sends silence.
	Source string
}

// UA is a running linphonec.
type UA struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	dir     string
	sipPort int
	rtpPort int
	done    chan struct{}

	mu  sync.Mutex
	out bytes.Buffer
}

// Need skips t when linphonec is not installed (make test installs it).
func Need(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("linphonec")
	if err != nil {
		t.Skip("linphonec is not installed (Debian package linphone-cli; make test installs it)")
	}
	return path
}

// config is the linphonerc: SIP and RTP bound to 127.0.0.1 on the given
// ports, IPv4 only, no STUN server (so no STUN or ICE), no UPnP, and
// everything else, codecs first, left at linphone's defaults; it does
// not answer calls by itself (linphonec only does with -a). Without bind_address and use_ipv6
// linphone announces the address of the machine's default route (an
// IPv6 one where there is one) in its Contact and SDP.
func config(user string, sipPort, rtpPort int) string {
	return fmt.Sprintf(`[sip]
sip_port=%[2]d
sip_tcp_port=-1
sip_tls_port=-1
bind_address=127.0.0.1
use_ipv6=0
ipv6_migration_done=1
guess_hostname=0
contact=sip:%[1]s@127.0.0.1
register_only_when_network_is_up=0

[rtp]
audio_rtp_port=%[3]d
bind_address=127.0.0.1
disable_upnp=1

[net]
firewall_policy=0

[sound]
echocancellation=0
`, user, sipPort, rtpPort)
}

// Start writes a linphonerc for o into a test directory (also linphone's
// HOME, for its database and history) and starts linphonec with it; the
// process is stopped when the test ends.
func Start(t testing.TB, o Options) *UA {
	t.Helper()
	bin := Need(t)
	if o.User == "" {
		o.User = "linphone"
	}
	dir := t.TempDir()
	u := &UA{dir: dir, sipPort: sipptest.FreePort(t, "udp"), rtpPort: sipptest.FreeRTPPort(t), done: make(chan struct{})}
	rc := filepath.Join(dir, "linphonerc")
	if err := os.WriteFile(rc, []byte(config(o.User, u.sipPort, u.rtpPort)), 0o600); err != nil {
		t.Fatal(err)
	}
	u.cmd = exec.Command(bin, "-c", rc, "-d", "6", "-l", filepath.Join(dir, "linphone.log"))
	u.cmd.Dir = dir
	u.cmd.Env = append(os.Environ(), "HOME="+dir)
	u.cmd.Stdout = u
	u.cmd.Stderr = u
	stdin, err := u.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	u.stdin = stdin
	if err := u.cmd.Start(); err != nil {
		t.Fatalf("start linphonec: %v", err)
	}
	go func() {
		_ = u.cmd.Wait()
		close(u.done)
	}()
	t.Cleanup(func() {
		_ = u.cmd.Process.Kill()
		<-u.done
		if t.Failed() {
			t.Logf("linphonec output:\n%s\nlinphonec log (errors and SIP):\n%s", u.Output(), u.logExcerpt())
		}
	})
	// linphonec applies the rc's sip_port only once it has seen the
	// network come up, which it never reports here: its ports command
	// opens the SIP socket at once (on the rc's bind_address).
	cmds := []string{"soundcard use files", fmt.Sprintf("ports sip %d", u.sipPort)}
	if o.Source != "" {
		cmds = append(cmds, "play "+o.Source)
	}
	cmds = append(cmds, "record "+u.Heard())
	for _, c := range cmds {
		if err := u.Command(c); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := u.WaitFor(ctx, fmt.Sprintf("Setting sip port to %d", u.sipPort)); err != nil {
		t.Fatal(err)
	}
	return u
}

// Write collects linphonec's output (it implements io.Writer for the
// process's stdout and stderr).
func (u *UA) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.out.Write(p)
}

// Command types one console command, such as "call sip:…" or
// "terminate".
func (u *UA) Command(c string) error {
	if _, err := io.WriteString(u.stdin, c+"\n"); err != nil {
		return fmt.Errorf("linphonec %q: %w", c, err)
	}
	return nil
}

// Output is what linphonec printed so far (its console, not its log).
func (u *UA) Output() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.out.String()
}

// SIPPort and RTPPort are linphone's ports on 127.0.0.1.
func (u *UA) SIPPort() int { return u.sipPort }

// RTPPort is linphone's audio RTP port on 127.0.0.1.
func (u *UA) RTPPort() int { return u.rtpPort }

// Heard is the WAV file linphone records what it receives into (its
// speaker); written once a call's media has started.
func (u *UA) Heard() string { return filepath.Join(u.dir, "heard.wav") }

// FixWAV returns b, a WAV file linphone recorded, with the sizes in its
// header set to what the file holds: linphone 5.1's file recorder
// (mediastreamer2's MSFileRec) writes the whole file's length as the
// data chunk's, 44 bytes more than there are (TestLinphoneCaller reads
// it through this).
func FixWAV(b []byte) []byte {
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[36:40]) != "data" {
		return b
	}
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[4:8], uint32(len(b)-8))
	binary.LittleEndian.PutUint32(b[40:44], uint32(len(b)-44))
	return b
}

// WaitFor waits until linphonec has printed s.
func (u *UA) WaitFor(ctx context.Context, s string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(u.Output(), s) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("linphonec never printed %q", s)
		case <-u.done:
			if strings.Contains(u.Output(), s) {
				return nil
			}
			return fmt.Errorf("linphonec ended without printing %q", s)
		case <-tick.C:
		}
	}
}

// Quit ends linphonec with its quit command (which hangs up any call)
// and waits for it to exit.
func (u *UA) Quit(ctx context.Context) error {
	if err := u.Command("quit"); err != nil {
		return err
	}
	select {
	case <-u.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("linphonec did not quit: %w", ctx.Err())
	}
}

// logExcerpt is the log's errors and the SIP messages it sent and
// received, for a failed test's output.
func (u *UA) logExcerpt() string {
	b, err := os.ReadFile(filepath.Join(u.dir, "linphone.log"))
	if err != nil {
		return err.Error()
	}
	var keep []string
	inMsg := false
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.Contains(l, "message-channel") && strings.Contains(l, "sent") || strings.Contains(l, "received ["):
			inMsg = true
		case strings.HasPrefix(l, "20") && !strings.Contains(l, "-error-"):
			inMsg = false
			continue
		}
		if inMsg || strings.Contains(l, "-error-") && !strings.Contains(l, "alsa") {
			keep = append(keep, l)
		}
	}
	if len(keep) > 400 {
		keep = keep[len(keep)-400:]
	}
	return strings.Join(keep, "\n")
}
