package sipptest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary returns the path of sipp, found on PATH, and fails the test
// when it is missing.
func Binary(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipptest: sipp not found on PATH (%v); `make test` installs it (Debian package sip-tester)", err)
	}
	return path
}

// Options says how to run one SIPp.
type Options struct {
	// Scenario is the path of the XML scenario, usually from Scenario.
	Scenario string
	// Remote is the address to call, such as "127.0.0.1:5060", for a
	// client (UAC) scenario; empty for a server (UAS) one.
	Remote string
	// Transport is SIPp's -t: "u1" (UDP, the default) or "t1" (TCP).
	Transport string
	// LocalPort is the SIP port (-p); 0 picks a free one.
	LocalPort int
	// MediaPort is SIPp's own media port (-mp, the [media_port] of a
	// scenario); 0 picks a free one. SIPp binds it and the port two
	// above it.
	MediaPort int
	// Keys are the scenario's keys (-key name value).
	Keys map[string]string
	// Calls is how many calls SIPp makes or takes before it exits (-m);
	// 0 means 1.
	Calls int
	// Rate is the calls started per second (-r); 0 leaves SIPp's 10.
	Rate int
	// Duration is the length of every <pause/> without its own length
	// (-d), in whole milliseconds.
	Duration time.Duration
	// Timeout bounds the whole run (-timeout, in whole seconds rounded
	// up, with -timeout_error so that reaching it is a failure rather
	// than a wait for calls in progress); 0 means 30s.
	Timeout time.Duration
	// Namespace, when set, runs SIPp in that network namespace (ip
	// netns exec), such as a caller behind a NAT (nattest); IP is then
	// the address it binds and announces there (-i, -mi).
	Namespace string
	IP        string
	// ExtraArgs go on the command line last, such as "-aa" to answer
	// INFO, NOTIFY, OPTIONS and UPDATE with 200.
	ExtraArgs []string
}

// Process is a running SIPp, ended when the test ends if it has not
// exited by then.
type Process struct {
	name      string
	args      []string
	cmd       *exec.Cmd
	dir       string
	port      int
	mediaPort int

	done    chan struct{} // closed once the process has exited
	state   *os.ProcessState
	waitErr error
}

// The files of a run, in Process.Dir.
const (
	stdoutFile  = "stdout.log"
	stderrFile  = "stderr.log"
	errorFile   = "errors.log"
	screenFile  = "screen.log"
	messageFile = "messages.log"
	actionFile  = "actions.log"
)

// Start runs sipp in the foreground with opts, its files in a directory
// of the test, and returns once it runs; a server scenario returns once
// its SIP port is bound, so that it can be called at once. It fails the
// test if SIPp cannot start.
func Start(t testing.TB, opts Options) *Process {
	t.Helper()
	bin := Binary(t)
	if opts.Scenario == "" {
		t.Fatal("sipptest: Options.Scenario is empty")
	}
	transport := cmp.Or(opts.Transport, "u1")
	network := "udp"
	if strings.HasPrefix(transport, "t") {
		network = "tcp"
	}
	p := &Process{
		name:      filepath.Base(opts.Scenario),
		dir:       t.TempDir(),
		port:      opts.LocalPort,
		mediaPort: opts.MediaPort,
		done:      make(chan struct{}),
	}
	if p.port == 0 {
		p.port = FreePort(t, network)
	}
	for p.mediaPort == 0 {
		port, err := freeUDPBlock(4)
		if err != nil {
			t.Fatalf("sipptest: free media port: %v", err)
		}
		// The SIP port was free a moment ago, and released: a media
		// block over it makes SIPp fail to bind (seen: -p 47816 with
		// -mp 47814, whose video port is +2).
		if p.port < port || p.port > port+3 {
			p.mediaPort = port
		}
	}
	p.args = p.buildArgs(opts, transport)

	stdout, err := os.Create(filepath.Join(p.dir, stdoutFile))
	if err != nil {
		t.Fatalf("sipptest: %v", err)
	}
	stderr, err := os.Create(filepath.Join(p.dir, stderrFile))
	if err != nil {
		_ = stdout.Close()
		t.Fatalf("sipptest: %v", err)
	}
	p.cmd = exec.Command(bin, p.args...)
	if opts.Namespace != "" {
		p.cmd = exec.Command("ip", append([]string{"netns", "exec", opts.Namespace, bin}, p.args...)...)
	}
	p.cmd.Dir = p.dir // SIPp writes any file not named on the command line here
	p.cmd.Stdout = stdout
	p.cmd.Stderr = stderr
	if err := p.cmd.Start(); err != nil {
		_ = errors.Join(stdout.Close(), stderr.Close())
		t.Fatalf("sipptest: start sipp: %v", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		_ = errors.Join(stdout.Close(), stderr.Close())
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("sipptest: %s\n%s", p.name, p.result().Log)
		}
	})

	if opts.Remote == "" {
		table := network
		if strings.Contains(opts.IP, ":") {
			table += "6" // SIPp on [::1]: /proc/net/udp6
		}
		if err := p.waitBound(table, 10*time.Second); err != nil {
			t.Fatalf("sipptest: %s: %v", p.name, err) // the cleanup logs SIPp's files
		}
	}
	return p
}

func (p *Process) buildArgs(opts Options, transport string) []string {
	var args []string
	if opts.Remote != "" {
		args = append(args, opts.Remote)
	}
	timeout := cmp.Or(opts.Timeout, 30*time.Second)
	args = append(args,
		"-sf", opts.Scenario,
		"-t", transport,
		"-i", cmp.Or(opts.IP, loopback), "-mi", cmp.Or(opts.IP, loopback), "-ci", loopback,
		"-p", strconv.Itoa(p.port),
		"-mp", strconv.Itoa(p.mediaPort),
		"-m", strconv.Itoa(cmp.Or(opts.Calls, 1)),
		"-timeout", strconv.FormatInt(int64((timeout+time.Second-1)/time.Second), 10),
		"-timeout_error",
		"-nostdin",
		"-trace_err", "-error_file", filepath.Join(p.dir, errorFile),
		"-trace_screen", "-screen_file", filepath.Join(p.dir, screenFile),
		"-trace_msg", "-message_file", filepath.Join(p.dir, messageFile),
		"-trace_logs", "-log_file", filepath.Join(p.dir, actionFile),
	)
	if opts.Rate > 0 {
		args = append(args, "-r", strconv.Itoa(opts.Rate))
	}
	if opts.Duration > 0 {
		args = append(args, "-d", strconv.FormatInt(opts.Duration.Milliseconds(), 10))
	}
	for _, k := range slices.Sorted(maps.Keys(opts.Keys)) {
		args = append(args, "-key", k, opts.Keys[k])
	}
	return append(args, opts.ExtraArgs...)
}

// waitBound waits until the SIP port is bound, or SIPp has exited.
func (p *Process) waitBound(network string, limit time.Duration) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(limit)
	for {
		ok, err := listening(network, p.port)
		if err != nil {
			return fmt.Errorf("wait for port %d: %w", p.port, err)
		}
		if ok {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("sipp exited before binding port %d", p.port)
		case <-deadline:
			return fmt.Errorf("port %d not bound after %v", p.port, limit)
		case <-tick.C:
		}
	}
}

// Port returns SIPp's SIP port: for a server scenario, the port the
// daemon under test dials.
func (p *Process) Port() int { return p.port }

// Addr returns SIPp's SIP address, "127.0.0.1:port".
func (p *Process) Addr() string { return loopback + ":" + strconv.Itoa(p.port) }

// MediaPort returns SIPp's own media port, the scenarios' [media_port].
func (p *Process) MediaPort() int { return p.mediaPort }

// Dir returns the directory of the run's files: the standard output and
// error, and SIPp's error, screen, message and action logs.
func (p *Process) Dir() string { return p.dir }

// Args returns SIPp's command line, less the binary.
func (p *Process) Args() []string { return slices.Clone(p.args) }

// Messages returns the SIP messages SIPp has sent and received so far,
// as SIPp traces them (-trace_msg).
func (p *Process) Messages() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, messageFile))
	return string(b)
}

// Errors is SIPp's error log so far (-trace_err): one entry per failed
// call, naming its Call-ID.
func (p *Process) Errors() string { return p.read(errorFile) }

// Stop asks SIPp to quit softly (SIGUSR1): it starts no more calls and
// exits once the calls in progress are over. It returns at once; Wait
// collects the end. Stopping a process that has exited does nothing.
func (p *Process) Stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGUSR1)
	}
}

// Wait waits for SIPp to exit and returns how the run went. If ctx ends
// first it kills SIPp, and the result says so.
func (p *Process) Wait(ctx context.Context) Result {
	select {
	case <-p.done:
		return p.result()
	case <-ctx.Done():
	}
	p.kill()
	r := p.result()
	r.Log = fmt.Sprintf("killed: %v\n%s", context.Cause(ctx), r.Log)
	return r
}

// kill ends SIPp at once if it still runs and waits for it.
func (p *Process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Result is how a SIPp run ended.
type Result struct {
	// ExitCode is SIPp's exit status: 0 all calls succeeded, 1 at least
	// one failed or the scenario did not load, 97 an internal stop
	// command, 99 no call processed, 255 a fatal error (such as reaching
	// Options.Timeout), 254 a socket that could not be bound, and -1
	// killed by a signal.
	ExitCode int
	// Successful and Failed are the cumulative call counts of SIPp's last
	// statistics screen, or -1 if it printed none.
	Successful, Failed int
	// Log is the command line, the exit status, and the tails of SIPp's
	// error log, standard error, action log and last screen, for a
	// failure message.
	Log string
}

// Err returns nil if SIPp exited 0 with no failed call, else an error
// carrying the exit status, the call counts and Log.
func (r Result) Err() error {
	if r.ExitCode == 0 && r.Failed <= 0 {
		return nil
	}
	return fmt.Errorf("sipp exit %d (%s): %d successful, %d failed calls\n%s",
		r.ExitCode, exitMeaning(r.ExitCode), r.Successful, r.Failed, r.Log)
}

func exitMeaning(code int) string {
	switch code {
	case 0:
		return "all calls successful"
	case 1:
		return "a call failed, or the scenario did not load"
	case 97:
		return "internal stop command"
	case 99:
		return "no call processed"
	case 254:
		return "could not bind a socket"
	case 255:
		return "fatal error or timeout"
	case -1:
		return "killed"
	}
	return "unknown"
}

// result reads the run's files; call it once the process has exited.
func (p *Process) result() Result {
	r := Result{ExitCode: -1, Successful: -1, Failed: -1}
	if p.state != nil {
		r.ExitCode = p.state.ExitCode()
	}
	screen := p.lastScreen()
	if n, ok := lastCount(screen, successfulRE); ok {
		r.Successful = n
	}
	if n, ok := lastCount(screen, failedRE); ok {
		r.Failed = n
	}

	var b strings.Builder
	fmt.Fprintf(&b, "sipp %s\n", strings.Join(p.args, " "))
	fmt.Fprintf(&b, "exit %d (%s)", r.ExitCode, exitMeaning(r.ExitCode))
	if p.waitErr != nil && r.ExitCode == -1 {
		fmt.Fprintf(&b, ": %v", p.waitErr)
	}
	b.WriteString("\n")
	for _, f := range []struct{ title, text string }{
		{errorFile, p.read(errorFile)},
		{stderrFile, p.read(stderrFile)},
		{actionFile, p.read(actionFile)},
		{"last screen", screen},
	} {
		if text := strings.TrimSpace(f.text); text != "" {
			fmt.Fprintf(&b, "--- %s ---\n%s\n", f.title, tail(text, logTail))
		}
	}
	r.Log = b.String()
	return r
}

// logTail bounds each file's share of Result.Log.
const logTail = 8 << 10

func (p *Process) read(name string) string {
	b, _ := os.ReadFile(filepath.Join(p.dir, name))
	return string(b)
}

// lastScreen returns SIPp's final screens: the screen file it writes on
// a clean exit, or else the last screens it printed on standard output
// (a fatal error, such as the timeout, skips the screen file).
func (p *Process) lastScreen() string {
	if s := p.read(screenFile); strings.TrimSpace(s) != "" {
		return s
	}
	s := p.read(stdoutFile)
	if i := strings.LastIndex(s, "Scenario Screen"); i >= 0 {
		if j := strings.LastIndex(s[:i], "\n"); j >= 0 {
			return s[j+1:]
		}
		return s[i:]
	}
	return s
}

var (
	successfulRE = regexp.MustCompile(`Successful call\s*\|\s*\d+\s*\|\s*(\d+)`)
	failedRE     = regexp.MustCompile(`Failed call\s*\|\s*\d+\s*\|\s*(\d+)`)
)

// lastCount returns the cumulative column of the last line re matches.
func lastCount(screen string, re *regexp.Regexp) (int, bool) {
	m := re.FindAllStringSubmatch(screen, -1)
	if len(m) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(m[len(m)-1][1])
	return n, err == nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
