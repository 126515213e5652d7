package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/daemon"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
)

func tok(name string) string { return "krk_test_" + name + "_9c1e4b7a2f" }

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// kirokud is a daemon running in the test process with the API on a
// loopback port, and the recordings it was seeded with.
type kirokud struct {
	d    *daemon.Daemon
	url  string
	wavs map[string][]byte
	ids  []string // cs-quality notified, cs-quality opted out, complaints
}

func writeWAV(t *testing.T, path string, channels int, frames int) []byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := wav.NewWriter(f, 8000, channels)
	pcm := make([]byte, 2*channels*frames)
	for i := range channels * frames {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(6000*math.Sin(float64(i)/5))))
	}
	w.Write(pcm)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := os.ReadFile(path)
	return b
}

// startKirokud writes a configuration with the API on and three calls
// in the spool, starts the daemon and waits until they are stored.
func startKirokud(t *testing.T) *kirokud { return startKirokudIn(t, t.TempDir(), "") }

// startKirokudIn is startKirokud in dir with more api keys (indented
// YAML lines such as "  tls_cert: api.pem\n").
func startKirokudIn(t *testing.T, dir, apiExtra string) *kirokud {
	t.Helper()
	writeWAV(t, filepath.Join(dir, "notice.wav"), 1, 4000)
	cfg := fmt.Sprintf(`sip:
  listen: ["udp://127.0.0.1:0"]
  trunks: [{name: test, cidrs: ["127.0.0.0/8"]}]
data_dir: data
log: {format: json, level: warn}
control: {listen: ""}
api:
  listen: "127.0.0.1:0"
%s  tokens:
    - {name: sup, roles: [supervisor], sha256: %s}
    - {name: po, roles: [privacy-officer], sha256: %s}
    - {name: aud, roles: [auditor], sha256: %s}
    - {name: adm, roles: [admin], sha256: %s}
purposes:
  - {name: cs-quality, retention: 90d, listeners: [supervisor, privacy-officer]}
  - {name: complaints, retention: 1y, listeners: [privacy-officer]}
lines:
  - {number: "0120000001", purpose: cs-quality, notice: notice.wav, downstream: "echo:"}
`, apiExtra, hash(tok("sup")), hash(tok("po")), hash(tok("aud")), hash(tok("adm")))
	path := filepath.Join(dir, "kirokud.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(filepath.Join(c.DataDir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	k := &kirokud{wavs: map[string][]byte{}}
	start := time.Now().Add(-time.Hour)
	for i, call := range []struct {
		purpose, decision string
		frames            int
		agent             string // agent_id the answer gave
	}{{"cs-quality", spool.Notified, 40000, "A-1001"}, {"cs-quality", spool.OptedOut, 0, ""}, {"complaints", spool.Notified, 8000, "A-1001"}} {
		id := uuid.Must(uuid.NewV7()).String()
		k.ids = append(k.ids, id)
		started := start.Add(time.Duration(i) * time.Minute)
		ended := started.Add(time.Minute)
		m := &spool.Manifest{Version: spool.ManifestVersion, ID: id, State: spool.StateDone, Caller: "0312345678",
			Dialled: "0120000001", Line: "0120000001", Purpose: call.purpose, StartedAt: started, EndedAt: &ended,
			Consent: spool.Consent{Decision: call.decision, OptOutDigit: "9", Notice: spool.Notice{File: "notice.wav", Completed: true}}}
		if call.agent != "" {
			m.AgentID, m.AgentIDSource = call.agent, "header:X-Agent-Id"
		}
		if call.frames > 0 {
			b := writeWAV(t, sp.RecordingPath(id), 2, call.frames)
			sum := sha256.Sum256(b)
			m.State = spool.StateSpooled
			m.Recording = &spool.Recording{File: id + ".wav", Duration: float64(call.frames) / 8000, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}
			k.wavs[id] = b
		}
		if err := sp.WriteManifest(m); err != nil {
			t.Fatal(err)
		}
	}
	log := zap.NewNop()
	d, err := daemon.New(t.Context(), c, path, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Stop(ctx)
	})
	k.d, k.url = d, "http://"+d.APIAddr().String()
	if c.API.TLS() {
		k.url = "https://" + d.APIAddr().String()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := d.Catalog().Count(t.Context())
		if err == nil && n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the spooled calls were not stored (%d, %v)", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return k
}

// ctl runs kirokuctl as token name (through the environment) and returns
// its exit code and output.
func (k *kirokud) ctl(t *testing.T, name string, args ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{"KIROKU_SERVER": k.url}
	if name != "" {
		env["KIROKU_TOKEN"] = tok(name)
	}
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestRecordingsSearchShowDownload(t *testing.T) {
	k := startKirokud(t)
	code, out, stderr := k.ctl(t, "sup", "recordings", "search")
	if code != 0 || !strings.Contains(out, k.ids[0]) || !strings.Contains(out, k.ids[1]) || strings.Contains(out, k.ids[2]) {
		t.Fatalf("search as supervisor: exit %d\n%s%s", code, out, stderr)
	}
	if !strings.HasPrefix(out, "ID") || !strings.Contains(out, "0312****78") || strings.Contains(out, "0312345678") {
		t.Errorf("want a table with masked callers, got\n%s", out)
	}
	code, out, _ = k.ctl(t, "po", "recordings", "search", "-decision", "notified", "-o", "json", "-limit", "1", "-all")
	var res struct {
		Recordings []struct {
			ID     string `json:"id"`
			Caller string `json:"caller"`
		} `json:"recordings"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 {
		t.Fatalf("search -o json: exit %d, %v\n%s", code, err, out)
	}
	if len(res.Recordings) != 2 || res.Recordings[0].Caller != "0312345678" {
		t.Errorf("privacy officer, notified, all pages of 1: got %+v, want two with the caller in clear", res.Recordings)
	}
	code, out, _ = k.ctl(t, "po", "recordings", "show", k.ids[1])
	if code != 0 || !strings.Contains(out, "opted-out") || !strings.Contains(out, "none (not recorded)") {
		t.Errorf("show: exit %d\n%s", code, out)
	}
	file := filepath.Join(t.TempDir(), "call.wav")
	code, out, stderr = k.ctl(t, "sup", "recordings", "download", k.ids[0], "-reason", "品質確認", "-out", file)
	if code != 0 {
		t.Fatalf("download: exit %d\n%s%s", code, out, stderr)
	}
	if got, _ := os.ReadFile(file); !bytes.Equal(got, k.wavs[k.ids[0]]) {
		t.Fatalf("downloaded %d bytes that differ from the %d-byte recording", len(got), len(k.wavs[k.ids[0]]))
	}
	code, _, stderr = k.ctl(t, "sup", "recordings", "download", k.ids[0])
	if code != exitUsage || !strings.Contains(stderr, "-reason is required") {
		t.Errorf("download without a reason: exit %d %s", code, stderr)
	}
	code, _, stderr = k.ctl(t, "sup", "recordings", "show", k.ids[2])
	if code != exitFail || !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("show of another purpose's recording: exit %d %s", code, stderr)
	}
}

// TestRecordingsSearchByAgent: -agent-id keeps the recordings of that
// agent among those the token may see, the AGENT column and show name
// it, and a value the API refuses is an error naming the parameter.
func TestRecordingsSearchByAgent(t *testing.T) {
	k := startKirokud(t)
	for _, tc := range []struct {
		name    string
		agent   string
		want    []string // ids listed
		wantNot []string
	}{
		// ids[2] is A-1001's too, in a purpose supervisors cannot see.
		{"that agent", "A-1001", []string{k.ids[0]}, []string{k.ids[1], k.ids[2]}},
		{"no one's", "A-100", nil, k.ids},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := k.ctl(t, "sup", "recordings", "search", "-agent-id", tc.agent)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, stderr)
			}
			for _, id := range tc.want {
				if !strings.Contains(out, id) {
					t.Errorf("got\n%s\nwant %s listed", out, id)
				}
			}
			for _, id := range tc.wantNot {
				if strings.Contains(out, id) {
					t.Errorf("got\n%s\nwant %s not listed", out, id)
				}
			}
		})
	}
	code, out, _ := k.ctl(t, "sup", "recordings", "search")
	lines := strings.Split(out, "\n")
	if code != 0 || !strings.Contains(lines[0], "AGENT") {
		t.Fatalf("search: exit %d, got header %q, want an AGENT column", code, lines[0])
	}
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, k.ids[0]) && !strings.Contains(l, " A-1001 "):
			t.Errorf("row %q: want agent A-1001", l)
		case strings.HasPrefix(l, k.ids[1]) && !strings.Contains(l, " - "):
			t.Errorf("row %q: want no agent (-)", l)
		}
	}
	code, out, _ = k.ctl(t, "sup", "recordings", "show", k.ids[0])
	if code != 0 || !strings.Contains(out, "agent id:") || !strings.Contains(out, "A-1001") {
		t.Errorf("show: exit %d, got\n%s\nwant agent id: A-1001", code, out)
	}
	code, _, stderr := k.ctl(t, "sup", "recordings", "search", "-agent-id", "A\x1b[31m")
	if code != exitFail || !strings.Contains(stderr, "agent_id: not an agent id (holds U+001B, which does not print)") {
		t.Errorf("unprintable agent id: got exit %d %q, want %d and the API's reason", code, stderr, exitFail)
	}
}

func TestHoldAuditCalls(t *testing.T) {
	k := startKirokud(t)
	id := k.ids[0]
	if code, _, stderr := k.ctl(t, "sup", "hold", "set", id, "-reason", "x"); code != exitFail || !strings.Contains(stderr, "HTTP 403") {
		t.Errorf("hold as supervisor: exit %d %s", code, stderr)
	}
	if code, out, stderr := k.ctl(t, "po", "hold", "set", id, "-reason", "訴訟 2026-17"); code != 0 || !strings.Contains(out, id+": held") {
		t.Fatalf("hold set: exit %d %s%s", code, out, stderr)
	}
	if r, _ := k.d.Catalog().Get(t.Context(), id); !r.LegalHold || r.HoldReason != "訴訟 2026-17" {
		t.Fatalf("catalog: hold %v %q", r.LegalHold, r.HoldReason)
	}
	if code, out, _ := k.ctl(t, "po", "hold", "clear", id, "-reason", "closed"); code != 0 || !strings.Contains(out, "not held") {
		t.Errorf("hold clear: exit %d %s", code, out)
	}
	code, out, stderr := k.ctl(t, "aud", "audit", "list", "-target", id, "-all")
	if code != 0 || !strings.Contains(out, "hold") || !strings.Contains(out, "release-hold") || !strings.Contains(out, "訴訟 2026-17") {
		t.Fatalf("audit list: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = k.ctl(t, "aud", "audit", "list", "-limit", "2", "-all", "-o", "json")
	var entries struct {
		Entries []struct{ Seq int64 } `json:"entries"`
	}
	if json.Unmarshal([]byte(out), &entries); code != 0 || len(entries.Entries) < 8 {
		t.Errorf("audit list -all in pages of 2: exit %d, %d entries", code, len(entries.Entries))
	}
	for i, e := range entries.Entries {
		if e.Seq != int64(i+1) {
			t.Fatalf("audit list -all: entry %d has seq %d", i, e.Seq)
		}
	}
	if code, out, _ := k.ctl(t, "aud", "audit", "verify"); code != 0 || !strings.HasPrefix(out, "ok:") {
		t.Errorf("audit verify: exit %d %s", code, out)
	}
	if code, _, stderr := k.ctl(t, "sup", "audit", "verify"); code != exitFail || !strings.Contains(stderr, "403") {
		t.Errorf("audit verify as supervisor: exit %d %s", code, stderr)
	}
	if code, out, stderr := k.ctl(t, "adm", "calls", "list"); code != 0 || !strings.HasPrefix(out, "ID") {
		t.Errorf("calls list: exit %d %s%s", code, out, stderr)
	}
	if code, out, _ := k.ctl(t, "adm", "calls", "list", "-o", "json"); code != 0 || !strings.Contains(out, `"calls": []`) {
		t.Errorf("calls list -o json: exit %d %s", code, out)
	}
	if code, out, _ := k.ctl(t, "po", "whoami"); code != 0 || !strings.Contains(out, "po (privacy-officer); purposes: cs-quality, complaints") {
		t.Errorf("whoami: exit %d %s", code, out)
	}
}

func TestErrorsAndUsage(t *testing.T) {
	k := startKirokud(t)
	for _, tc := range []struct {
		name, token string
		env         map[string]string
		args        []string
		code        int
		want        string
	}{
		{"no token", "", nil, []string{"recordings", "search"}, exitUsage, "no token"},
		{"bad token", "nobody", nil, []string{"recordings", "search"}, exitFail, "token not accepted (HTTP 401)"},
		{"unknown command", "sup", nil, []string{"recordings", "delete"}, exitUsage, "unknown command"},
		{"no command", "sup", nil, nil, exitUsage, "no command"},
		{"bad filter", "sup", nil, []string{"recordings", "search", "-limit", "99999"}, exitFail, "limit"},
		{"bad output", "sup", nil, []string{"recordings", "search", "-o", "xml"}, exitUsage, "-o"},
		{"extra argument", "sup", nil, []string{"recordings", "show"}, exitUsage, "one recording id"},
		{"path trick", "sup", nil, []string{"recordings", "show", "../audit"}, exitFail, "HTTP 400"},
		{"plain http off loopback", "sup", map[string]string{"KIROKU_SERVER": "http://192.0.2.1:8443"}, []string{"whoami"}, exitUsage, "plain HTTP"},
		{"server not a URL", "sup", map[string]string{"KIROKU_SERVER": "kiroku:8443"}, []string{"whoami"}, exitUsage, "not a URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"KIROKU_SERVER": k.url}
			if tc.token != "" {
				env["KIROKU_TOKEN"] = tok(tc.token)
			}
			for a, b := range tc.env {
				env[a] = b
			}
			var out, errOut bytes.Buffer
			code := run(t.Context(), tc.args, &out, &errOut, func(k string) string { return env[k] })
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d saying %q", code, errOut.String(), tc.code, tc.want)
			}
			if strings.Contains(errOut.String(), tok("sup")) || strings.Contains(out.String(), tok("sup")) {
				t.Error("the token was printed")
			}
		})
	}
	// Flags given before the command and a token file work too.
	tf := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tf, []byte(tok("po")+"\n"), 0o600)
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"-server", k.url, "-token-file", tf, "-o", "json", "whoami"}, &out, &errOut, func(string) string { return "" })
	if code != 0 || !strings.Contains(out.String(), `"name": "po"`) {
		t.Errorf("global flags: exit %d %s%s", code, out.String(), errOut.String())
	}
}

func TestTokenNew(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"token", "new", "-name", "yamada", "-roles", "supervisor,privacy-officer", "-o", "json"}, &out, &errOut, func(string) string { return "" })
	var res struct {
		Token, SHA256, Config string
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || code != 0 {
		t.Fatalf("exit %d, %v: %s%s", code, err, out.String(), errOut.String())
	}
	if hash(res.Token) != res.SHA256 || len(res.Token) < 40 || !strings.Contains(res.Config, "roles: [supervisor, privacy-officer], sha256: "+res.SHA256) {
		t.Errorf("got %+v", res)
	}
	// The entry it prints is a valid configuration.
	y := "sip: {listen: [\"udp://127.0.0.1:5060\"]}\napi:\n  listen: 127.0.0.1:0\n  tokens:\n    " + res.Config + "\n"
	if _, err := config.Parse([]byte(y), "t.yaml", os.DirFS("/"), "/"); err != nil {
		t.Errorf("the printed entry does not load: %v\n%s", err, y)
	}
	code = run(t.Context(), []string{"token", "new", "-name", "x", "-roles", "root"}, &out, &errOut, func(string) string { return "" })
	if code != exitUsage {
		t.Errorf("unknown role: exit %d, want %d", code, exitUsage)
	}
}

// TestTLS: with api.tls_cert and api.tls_key the API speaks HTTPS only;
// kirokuctl trusts a private CA given with -ca.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, filepath.Join(dir, "api.pem"), filepath.Join(dir, "api.key"))
	k := startKirokudIn(t, dir, "  tls_cert: api.pem\n  tls_key: api.key\n")
	if !strings.HasPrefix(k.url, "https://") {
		t.Fatalf("got %s, want https", k.url)
	}
	code, out, stderr := k.ctl(t, "po", "-ca", filepath.Join(dir, "api.pem"), "whoami")
	if code != 0 || !strings.HasPrefix(out, "po ") {
		t.Fatalf("whoami over TLS: exit %d %s%s", code, out, stderr)
	}
	if code, _, stderr := k.ctl(t, "po", "whoami"); code != exitFail || !strings.Contains(stderr, "certificate") {
		t.Errorf("without -ca: exit %d %s, want a certificate error", code, stderr)
	}
	plain := strings.Replace(k.url, "https://", "http://", 1)
	var out2, errOut bytes.Buffer
	code = run(t.Context(), []string{"-server", plain, "whoami"}, &out2, &errOut, func(k string) string { return map[string]string{"KIROKU_TOKEN": tok("po")}[k] })
	if code != exitFail || !strings.Contains(errOut.String(), "HTTP 400") {
		t.Errorf("plain HTTP to the TLS port: exit %d %s, want the server's 400", code, errOut.String())
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 (its own CA)
// and its key as PEM.
func writeCert(t *testing.T, certPath, keyPath string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "kiroku test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(priv)
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// TestAudioExt: a download is named by the extension the API gives the
// stored audio; anything else is .wav.
func TestAudioExt(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`attachment; filename="r1.flac"`, ".flac"},
		{`attachment; filename="r1.opus"`, ".opus"},
		{`attachment; filename="r1.wav"`, ".wav"},
		{`attachment; filename="../../etc/passwd.sh"`, ".wav"},
		{``, ".wav"},
	} {
		if got := audioExt(tc.in); got != tc.want {
			t.Errorf("audioExt(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}
