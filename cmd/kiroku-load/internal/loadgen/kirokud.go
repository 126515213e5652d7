package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kiroku-voice/kiroku/internal/wav"
)

// lineNumber is the toll-free line the benchmark calls.
const lineNumber = "0120000000"

// DefaultRTPPorts is kirokud's RTP range for the benchmark: below Linux's
// ephemeral range (32768-60999), so no client socket of either process
// takes a port kirokud wants, and wide for 3,000 calls at 4 ports each.
const DefaultRTPPorts = "20000-32767"

// configTemplate is kirokud's configuration for a run: one line whose
// short notice and opt-out window lead to the agent on loopback, warnings
// only in the log. The generator is one source, like a carrier's trunk,
// so the INVITE rate limits are raised to let its ramp through.
// Placeholders: SIP port, max_calls, rtp_ports, the rate limit's rate and
// burst (twice), the control port and whether it serves profiles, agent
// port.
const configTemplate = `# written by kiroku-load
sip:
  listen: ["udp://127.0.0.1:%d"]
  trunks: [{name: load, cidrs: ["127.0.0.1/32"]}]
  max_calls: %d
  rtp_ports: %s
  rate_limit: {per_source: {rate: %d, burst: %d}, global: {rate: %d, burst: %d}}
  drain_timeout: 5s
  answer_timeout: 10s
  retry_after: 5s
data_dir: data
log: {format: json, level: warn}
control: {listen: "127.0.0.1:%d", pprof: %t}
purposes:
  - {name: cs-quality, description: load benchmark, retention: 90d, listeners: [supervisor]}
lines:
  - {number: "` + lineNumber + `", purpose: cs-quality, notice: notice.wav, opt_out_digit: "9", opt_out_wait: 200ms, downstream: "sip:agent@127.0.0.1:%d"}
`

// noticeLength is the notice's play time: short, so calls reach the agent
// soon, but long enough to be played in real time like a real one.
const noticeLength = 500 * time.Millisecond

// kirokud is the daemon under test.
type kirokud struct {
	cmd     *exec.Cmd
	sip     netip.AddrPort
	control int // control listener's port on 127.0.0.1
	logPath string
	logFile *os.File
	done    chan struct{}
	waitErr error
	once    sync.Once
	stopErr error
}

// startKirokud writes the notice and the configuration into opts.Dir and
// starts kirokud there; its output goes to kirokud.log.
func startKirokud(ctx context.Context, opts Options, agent netip.AddrPort) (*kirokud, error) {
	lo, hi, err := portRange(opts.RTPPorts)
	if err != nil {
		return nil, err
	}
	if pairs := (hi - lo + 1) / 2; pairs < 2*opts.Calls {
		return nil, fmt.Errorf("rtp ports %s hold %d port pairs, want 2 per call (%d)", opts.RTPPorts, pairs, 2*opts.Calls)
	}
	if err := writeNotice(filepath.Join(opts.Dir, "notice.wav")); err != nil {
		return nil, err
	}
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	rate, burst := int(math.Ceil(2*opts.Rate)), opts.Calls
	control, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(configTemplate, port, opts.Calls+opts.Calls/2+10, opts.RTPPorts, rate, burst, rate, burst,
		control, opts.HeapProfile != "", agent.Port())
	cfgPath := filepath.Join(opts.Dir, "kiroku.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("write kirokud config: %w", err)
	}
	logPath := filepath.Join(opts.Dir, "kirokud.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("kirokud log: %w", err)
	}
	// Not CommandContext: stop ends kirokud with SIGTERM, then SIGKILL.
	cmd := exec.Command(opts.Kirokud, "-config", cfgPath)
	cmd.Dir = opts.Dir
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the benchmark
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start kirokud: %w", err)
	}
	k := &kirokud{cmd: cmd, logPath: logPath, logFile: lf, done: make(chan struct{}), control: control,
		sip: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))}
	go func() {
		k.waitErr = cmd.Wait()
		close(k.done)
	}()
	return k, nil
}

func (k *kirokud) pid() int { return k.cmd.Process.Pid }

func (k *kirokud) exited() bool {
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM (kirokud drains: no calls are left, so it exits at
// once), kills it after 10 s, and returns how it exited. It is idempotent.
func (k *kirokud) stop() error {
	k.once.Do(func() {
		if !k.exited() {
			_ = k.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-k.done:
			case <-time.After(10 * time.Second):
				_ = k.cmd.Process.Kill()
				<-k.done
				k.stopErr = errors.New("kirokud did not exit within 10s of SIGTERM; killed")
			}
		}
		if k.stopErr == nil && k.waitErr != nil {
			k.stopErr = fmt.Errorf("kirokud: %w", k.waitErr)
		}
		k.stopErr = errors.Join(k.stopErr, k.logFile.Close())
	})
	return k.stopErr
}

// writeNotice writes a short 8 kHz 16-bit mono tone as the line's notice.
func writeNotice(path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write notice: %w", err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	w, err := wav.NewWriter(f, 8000, 1)
	if err != nil {
		return fmt.Errorf("write notice: %w", err)
	}
	n := int(noticeLength / (time.Second / 8000))
	b := make([]byte, 2*n)
	for i := range n {
		s := int16(4000 * math.Sin(2*math.Pi*523*float64(i)/8000))
		b[2*i], b[2*i+1] = byte(s), byte(uint16(s)>>8)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write notice: %w", err)
	}
	return w.Close()
}

// freeUDPPort returns a port of 127.0.0.1 that was free a moment ago.
func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free udp port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free tcp port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// heapProfile writes kirokud's heap profile (after a GC, so it holds
// what is live) to path, as text with the runtime's memory statistics to
// path.txt, and its goroutines, counted by stack, to path.goroutines.txt.
func (k *kirokud) heapProfile(ctx context.Context, path string) error {
	if err := k.profile(ctx, "heap?gc=1", path); err != nil {
		return err
	}
	if err := k.profile(ctx, "heap?debug=1", path+".txt"); err != nil {
		return err
	}
	return k.profile(ctx, "goroutine?debug=1", path+".goroutines.txt")
}

// profile writes kirokud's profile name to path.
func (k *kirokud) profile(ctx context.Context, name, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/%s", k.control, name), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("kirokud answered %s", res.Status)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// portRange parses "lo-hi".
func portRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if ok {
		lo, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			hi, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil || lo < 1024 || hi > 65535 || hi <= lo {
		return 0, 0, fmt.Errorf("rtp ports %q: want lo-hi within 1024-65535", s)
	}
	return lo, hi, nil
}

// BuildKirokud compiles kirokud as `make build` does into dir and returns
// the binary's path. It runs the go command in the current module.
func BuildKirokud(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "kirokud")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "github.com/kiroku-voice/kiroku/cmd/kirokud")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build kirokud: %w\n%s", err, out)
	}
	return bin, nil
}
