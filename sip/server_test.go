package sip

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

const (
	echoLine  = "0120000001"
	agentLine = "0120000002"
	noOptOut  = "0120000003"
)

// testEnv is a running SIP server on loopback with its own spool.
type testEnv struct {
	srv    *Server
	spool  *spool.Dir
	dir    string
	udp    string // host:port of the UDP listener
	tcp    string
	notice []int16
	logs   *observer.ObservedLogs
}

// noticePCM is a 1 s prompt: 600 Hz rising in amplitude, so that the
// first frames are recognisable.
func noticePCM(dur time.Duration) []int16 {
	n := int(dur.Seconds() * 8000)
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(float64(2000+i%8000) * math.Sin(2*math.Pi*600*float64(i)/8000))
	}
	return pcm
}

func writeWAV(t testing.TB, path string, pcm []int16) { writeWAVAt(t, path, pcm, 8000) }

// writeWAVAt is writeWAV at rate Hz.
func writeWAVAt(t testing.TB, path string, pcm []int16, rate int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wav.NewWriter(f, rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		b[2*i], b[2*i+1] = byte(s), byte(uint16(s)>>8)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

type envOptions struct {
	notice     time.Duration
	optOutWait string
	agent      string // downstream of agentLine
	trunkCIDR  string
	maxCalls   int
	pauseKeys  string // pause_keys of agentLine; resume_keys is "*2"
	rtpPorts   string // default 31000-34999
	// tweak changes the loaded configuration before the server is built,
	// for values below the floors Validate enforces (a 1 s media timeout).
	tweak func(*config.Config)
	obs   Observer
	// nonceKey, when set, signs digest nonces (as nodes sharing a
	// master key do).
	nonceKey []byte
}

func startServer(t *testing.T, o envOptions) *testEnv {
	t.Helper()
	if o.notice == 0 {
		o.notice = time.Second
	}
	if o.optOutWait == "" {
		o.optOutWait = "300ms"
	}
	if o.agent == "" {
		o.agent = "sip:agent@127.0.0.1:9"
	}
	if o.trunkCIDR == "" {
		o.trunkCIDR = "127.0.0.0/8"
	}
	if o.maxCalls == 0 {
		o.maxCalls = 50
	}
	if o.rtpPorts == "" {
		o.rtpPorts = "31000-34999"
	}
	keys := ""
	if o.pauseKeys != "" {
		keys = fmt.Sprintf(", pause_keys: %q, resume_keys: \"*2\"", o.pauseKeys)
	}
	dir := t.TempDir()
	pcm := noticePCM(o.notice)
	writeWAV(t, filepath.Join(dir, "notice.wav"), pcm)
	yaml := fmt.Sprintf(`sip:
  listen: ["udp://127.0.0.1:0", "tcp://127.0.0.1:0"]
  trunks: [{name: test, cidrs: [%q]}]
  max_calls: %d
  rtp_ports: %s
  answer_timeout: 4s
  retry_after: 7s
data_dir: data
purposes:
  - {name: cs-quality, description: test purpose, retention: 90d, listeners: [supervisor]}
lines:
  - {number: %q, purpose: cs-quality, notice: notice.wav, opt_out_digit: "9", opt_out_wait: %s, downstream: "echo:"}
  - {number: %q, purpose: cs-quality, notice: notice.wav, opt_out_digit: "9", opt_out_wait: %s, downstream: %q%s}
  - {number: %q, purpose: cs-quality, notice: notice.wav, downstream: "echo:"}
`, o.trunkCIDR, o.maxCalls, o.rtpPorts, echoLine, o.optOutWait, agentLine, o.optOutWait, o.agent, keys, noOptOut)
	path := filepath.Join(dir, "kiroku.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	sp.SetKeys(testKeys(t))
	if o.tweak != nil {
		o.tweak(cfg)
	}
	core, logs := observer.New(zap.DebugLevel)
	srv, err := New(cfg, sp, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	if o.obs != nil {
		srv.SetObserver(o.obs)
	}
	if o.nonceKey != nil {
		srv.SetNonceKey(o.nonceKey)
	}
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	env := &testEnv{srv: srv, spool: sp, dir: dir, notice: pcm, logs: logs}
	for _, l := range srv.Listeners() {
		switch l.Network {
		case "udp":
			env.udp = l.Addr.String()
		case "tcp":
			env.tcp = l.Addr.String()
		}
	}
	return env
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitCall waits for a call in the given phase and returns it.
func (e *testEnv) waitCall(t testing.TB, phase string) CallInfo {
	t.Helper()
	var ci CallInfo
	waitFor(t, "a call in phase "+phase, 10*time.Second, func() bool {
		for _, c := range e.srv.Calls() {
			// A call is listed before its caller endpoint opens.
			if c.Phase == phase && c.CallerRTP.IsValid() {
				ci = c
				return true
			}
		}
		return false
	})
	return ci
}

// manifests returns every final manifest in the spool.
func (e *testEnv) manifests(t testing.TB) []*spool.Manifest {
	t.Helper()
	entries, err := os.ReadDir(e.spool.Path())
	if err != nil {
		t.Fatal(err)
	}
	var out []*spool.Manifest
	for _, en := range entries {
		if !strings.HasSuffix(en.Name(), ".json") || strings.HasPrefix(en.Name(), ".") {
			continue
		}
		m, err := e.spool.ReadManifest(strings.TrimSuffix(en.Name(), ".json"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// finalManifest waits until exactly one call has ended and returns it.
func (e *testEnv) finalManifest(t testing.TB) *spool.Manifest {
	t.Helper()
	var m *spool.Manifest
	waitFor(t, "the call's final manifest", 15*time.Second, func() bool {
		ms := e.manifests(t)
		if len(ms) == 1 && (ms[0].State == spool.StateDone || ms[0].State == spool.StateSpooled) {
			m = ms[0]
			return true
		}
		return false
	})
	return m
}

func addrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

var _ = context.Background

// TestAgentRequestsFromListener: requests to a UDP agent leave from the
// UDP listener's socket (its Via names the listener's port), so the
// agent's answers land in the listener's large receive buffer; they came
// from an ephemeral socket with the default one, which dropped answers in
// bursts.
func TestAgentRequestsFromListener(t *testing.T) {
	b := bridge(t, 2*time.Second)
	mustSucceed(t, b.caller)
	mustSucceed(t, b.agentP)
	_, port, err := net.SplitHostPort(b.env.udp)
	if err != nil {
		t.Fatal(err)
	}
	msgs := b.agentP.Messages()
	for _, method := range []string{"INVITE", "ACK", "BYE"} {
		i := strings.Index(msgs, method+" sip:")
		if i < 0 {
			t.Fatalf("no %s at the agent:\n%s", method, msgs)
		}
		via := msgs[i:]
		via = via[strings.Index(via, "Via:"):]
		via = via[:strings.IndexByte(via, '\n')]
		if !strings.Contains(via, "127.0.0.1:"+port+";") {
			t.Errorf("%s: got %q, want it sent from the listener 127.0.0.1:%s", method, strings.TrimSpace(via), port)
		}
	}
}

// testKeys is a keyring for the spool's sealed audio.
func testKeys(t testing.TB) *crypt.Keyring {
	t.Helper()
	k, err := crypt.NewKeyring("test", map[string][]byte{"test": bytes.Repeat([]byte{0x5a}, crypt.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}
