package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/pgtest"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage/crypt"
	"github.com/kiroku-voice/kiroku/storage/fs"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kirokud-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "kirokud")
	out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build kirokud: %v\n%s", err, out)
		os.Exit(1)
	}
	code := pgtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type proc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	dir  string
	port int
	done chan error
	env  []string // added to the environment of kirokud
	attr *syscall.SysProcAttr
}

const lineYAML = `  - {number: %q, purpose: cs-quality, notice: notice.wav, opt_out_digit: "9", opt_out_wait: 200ms, downstream: "echo:"}
`

func writeConfig(t *testing.T, dir string, port int, drain string, lines ...string) {
	t.Helper()
	var ls strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&ls, lineYAML, l)
	}
	y := fmt.Sprintf(`sip:
  listen: ["udp://127.0.0.1:%d"]
  trunks: [{name: test, cidrs: ["127.0.0.0/8"]}]
  rtp_ports: 35000-35999
  drain_timeout: %s
  retry_after: 5s
data_dir: data
log: {format: json, level: debug}
control: {listen: "127.0.0.1:0"}
purposes:
  - {name: cs-quality, retention: 90d, listeners: [supervisor]}
lines:
%s`, port, drain, ls.String())
	if err := os.WriteFile(filepath.Join(dir, "kiroku.yaml"), []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
}

func startDaemon(t *testing.T, drain string, lines ...string) *proc {
	t.Helper()
	return prepare(t, drain, lines...).start(t)
}

// prepare writes a notice and a configuration into a new folder.
func prepare(t *testing.T, drain string, lines ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	pcm := make([]int16, 4000) // 0.5 s
	for i := range pcm {
		pcm[i] = int16(3000 * math.Sin(float64(i)/3))
	}
	f, _ := os.Create(filepath.Join(dir, "notice.wav"))
	w, _ := wav.NewWriter(f, 8000, 1)
	b := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		b[2*i], b[2*i+1] = byte(s), byte(uint16(s)>>8)
	}
	w.Write(b)
	w.Close()
	f.Close()
	port := sipptest.FreePort(t, "udp")
	writeConfig(t, dir, port, drain, lines...)
	return &proc{log: &syncBuffer{}, dir: dir, port: port, done: make(chan error, 1)}
}

func (d *proc) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(d.log.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("kirokud never logged %q", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *proc) call(t *testing.T, scenario, line string, hold time.Duration, keys map[string]string) *sipptest.Process {
	t.Helper()
	k := map[string]string{"dialled": line, "caller": "0312345678", "rtp_port": strconv.Itoa(sipptest.FreePort(t, "udp"))}
	for n, v := range keys {
		k[n] = v
	}
	return sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, scenario),
		Remote:   "127.0.0.1:" + strconv.Itoa(d.port),
		Keys:     k,
		Duration: hold,
		Timeout:  30 * time.Second,
	})
}

// manifests returns every call's manifest: those still in the spool and
// those the uploader has moved into the catalog.
func (d *proc) manifests(t *testing.T) []*spool.Manifest {
	sp, err := spool.Open(filepath.Join(d.dir, "data", "spool"))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*spool.Manifest{}
	entries, _ := os.ReadDir(sp.Path())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		if m, err := sp.ReadManifest(strings.TrimSuffix(e.Name(), ".json")); err == nil {
			byID[m.ID] = m
		}
	}
	if _, err := os.Stat(filepath.Join(d.dir, "data", "catalog.db")); err == nil {
		cat, err := catalog.Open(t.Context(), filepath.Join(d.dir, "data", "catalog.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer cat.Close()
		recs, err := cat.List(t.Context(), catalog.Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			var m spool.Manifest
			if err := json.Unmarshal(r.Manifest, &m); err != nil {
				t.Fatal(err)
			}
			byID[m.ID] = &m
		}
	}
	var out []*spool.Manifest
	for _, m := range byID {
		out = append(out, m)
	}
	return out
}

// audio returns the WAV of call id, from the spool or decrypted from the
// store.
func (d *proc) audio(t *testing.T, id string) []byte {
	t.Helper()
	key, err := crypt.LoadKeyFile(filepath.Join(d.dir, "data", "keys", "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := crypt.NewKeyring("master", map[string][]byte{"master": key})
	if sp, err := spool.Open(filepath.Join(d.dir, "data", "spool")); err == nil {
		sp.SetKeys(keys)
		if r, _, err := sp.OpenAudio(id); err == nil {
			defer r.Close()
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	cat, err := catalog.Open(t.Context(), filepath.Join(d.dir, "data", "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	rec, err := cat.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	st, err := fs.New(filepath.Join(d.dir, "data", "store"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := recording.OpenAudio(t.Context(), st, keys, rec)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteRange(&buf, 0, r.Size()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wantSuccess(t *testing.T, p *sipptest.Process) {
	t.Helper()
	if r := p.Wait(t.Context()); r.ExitCode != 0 {
		t.Fatalf("sipp exit %d, want 0\n%s", r.ExitCode, r.Log)
	}
}

// TestSIGTERMDrains: after SIGTERM new calls get 503, the call in progress
// finishes, and kirokud exits 0.
func TestSIGTERMDrains(t *testing.T) {
	d := startDaemon(t, "20s", "0120000001")
	first := d.call(t, "uac.xml", "0120000001", 3*time.Second, nil)
	waitFor(t, "the first call's manifest", func() bool { return len(d.manifests(t)) == 1 })
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.waitLog(t, "draining")
	refused := d.call(t, "uac_expect.xml", "0120000001", 0, map[string]string{"expect": "503"})
	wantSuccess(t, refused)
	wantSuccess(t, first)
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			t.Fatalf("kirokud exited with %v, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("kirokud did not exit after its last call ended")
	}
	ms := d.manifests(t)
	if len(ms) != 1 || (ms[0].State != spool.StateDone && ms[0].State != spool.StateSpooled) || ms[0].EndReason != "caller-hangup" {
		t.Fatalf("got manifests %+v, want the one call ended by the caller", ms)
	}
}

// TestDrainTimeoutHangsUp: a call longer than the drain timeout is hung up
// on both legs and its manifest says why.
func TestDrainTimeoutHangsUp(t *testing.T) {
	d := startDaemon(t, "1s", "0120000001")
	long := d.call(t, "uac.xml", "0120000001", 20*time.Second, nil)
	waitFor(t, "the call's manifest", func() bool { return len(d.manifests(t)) == 1 })
	d.cmd.Process.Signal(syscall.SIGTERM)
	wantSuccess(t, long) // the scenario answers our BYE
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			t.Fatalf("kirokud exited with %v, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("kirokud did not exit")
	}
	if ms := d.manifests(t); len(ms) != 1 || ms[0].EndReason != "shutdown" {
		t.Fatalf("got manifests %+v, want one ended by shutdown", ms)
	}
}

// TestSIGHUPReload: a broken file is refused and the old lines keep
// working; a good file takes effect.
func TestSIGHUPReload(t *testing.T) {
	d := startDaemon(t, "5s", "0120000001")
	cfg := filepath.Join(d.dir, "kiroku.yaml")
	if err := os.WriteFile(cfg, []byte("sip: [this is not\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, "configuration not reloaded")
	wantSuccess(t, d.call(t, "uac.xml", "0120000001", 1500*time.Millisecond, nil))

	writeConfig(t, d.dir, d.port, "5s", "0120000002")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, "configuration reloaded")
	wantSuccess(t, d.call(t, "uac.xml", "0120000002", 1500*time.Millisecond, nil))
	wantSuccess(t, d.call(t, "uac_expect.xml", "0120000001", 0, map[string]string{"expect": "404"}))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 15*time.Second, what, cond)
}

// waitWithin is waitFor with its own limit.
func waitWithin(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("sip:\n  max_calls: 0\nlines:\n  - {number: \"0120\", purpose: nope, notice: missing.wav, downstream: \"echo:\"}\n"), 0o600)
	pg := filepath.Join(dir, "pg.yaml")
	os.WriteFile(pg, []byte("sip:\n  listen: [\"udp://127.0.0.1:5060\"]\ncatalog:\n  driver: postgres\n  dsn_env: KIROKU_TEST_NO_SUCH_DSN\n"+
		"purposes:\n  - {name: cs, retention: 6m}\nlines:\n  - {number: \"0120000000\", purpose: cs, notice: notice.wav, downstream: \"echo:\"}\n"), 0o600)
	notice, _ := os.ReadFile(filepath.Join("..", "..", "configs", "prompts", "notice-ja.wav"))
	os.WriteFile(filepath.Join(dir, "notice.wav"), notice, 0o600)
	// A master key the start would refuse, which only the start read.
	badKey := filepath.Join(dir, "badkey.yaml")
	os.WriteFile(badKey, []byte("sip:\n  listen: [\"udp://127.0.0.1:5060\"]\ndata_dir: kd\n"+
		"purposes:\n  - {name: cs, retention: 6m}\nlines:\n  - {number: \"0120000000\", purpose: cs, notice: notice.wav, downstream: \"echo:\"}\n"), 0o600)
	os.MkdirAll(filepath.Join(dir, "kd", "keys"), 0o700)
	os.WriteFile(filepath.Join(dir, "kd", "keys", "master.key"), []byte("not a key\n"), 0o600)
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"print default", []string{"-print-default-config"}, 0, []string{"0120000000", "echo:", "cs-quality"}},
		{"version", []string{"-version"}, 0, []string{"kirokud"}},
		{"check bad", []string{"-check-config", bad}, 1, []string{"sip.max_calls", "lines[0].purpose", "lines[0].notice"}},
		{"check missing", []string{"-check-config", filepath.Join(dir, "nope.yaml")}, 1, []string{"nope.yaml"}},
		{"check postgres without its variable", []string{"-check-config", pg}, 1,
			[]string{"pg.yaml:5: catalog.dsn_env: environment variable KIROKU_TEST_NO_SUCH_DSN is not set (it holds the PostgreSQL connection string)"}},
		{"check a malformed master key", []string{"-check-config", badKey}, 1, []string{"badkey.yaml: ", "master.key"}},
		{"bad flag", []string{"-nosuch"}, 2, []string{"flag provided but not defined"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("got exit %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			all := out.String() + errb.String()
			for _, s := range tc.contains {
				if !strings.Contains(all, s) {
					t.Errorf("output %q does not mention %q", all, s)
				}
			}
		})
	}
	// The printed default is itself a valid configuration, written alone
	// in a folder of its own: its notice is the one shipped inside kirokud.
	var out bytes.Buffer
	run([]string{"-print-default-config"}, &out, &out)
	p := filepath.Join(t.TempDir(), "default.yaml")
	os.WriteFile(p, out.Bytes(), 0o600)
	var eb bytes.Buffer
	if code := run([]string{"-check-config", p}, &out, &eb); code != 0 {
		t.Errorf("the printed default config fails -check-config: %s", eb.String())
	}
	// -write-default-config writes it with its prompts, ready to check and
	// run; a second time it refuses and writes nothing.
	wd := filepath.Join(dir, "written")
	out.Reset()
	eb.Reset()
	if code := run([]string{"-write-default-config", wd}, &out, &eb); code != 0 || !strings.Contains(out.String(), "prompts") {
		t.Fatalf("-write-default-config: exit %d, %q %q", code, out.String(), eb.String())
	}
	if code := run([]string{"-check-config", filepath.Join(wd, "kirokud.yaml")}, &out, &eb); code != 0 {
		t.Errorf("the written default config fails -check-config: %s", eb.String())
	}
	// Its notice is the prompt written beside it, for the centre to
	// replace: a changed one is what the written config plays.
	if y, _ := os.ReadFile(filepath.Join(wd, "kirokud.yaml")); !strings.Contains(string(y), "notice: prompts/notice-ja.wav") || strings.Contains(string(y), "embedded:") {
		t.Errorf("the written default config does not name the prompts written beside it:\n%s", y)
	}
	os.Remove(filepath.Join(wd, "prompts", "notice-ja.wav"))
	if code := run([]string{"-check-config", filepath.Join(wd, "kirokud.yaml")}, &out, &eb); code == 0 {
		t.Error("the written default config passes -check-config without the prompt written beside it")
	}
	os.Remove(filepath.Join(wd, "prompts", "notice-en.wav"))
	eb.Reset()
	if code := run([]string{"-write-default-config", wd}, &out, &eb); code != 1 || !strings.Contains(eb.String(), "exists") {
		t.Errorf("a second -write-default-config: exit %d, %q; want 1 naming the file that exists", code, eb.String())
	}
	if _, err := os.Stat(filepath.Join(wd, "prompts", "notice-en.wav")); !os.IsNotExist(err) {
		t.Errorf("a refused -write-default-config wrote a file: %v", err)
	}
}
