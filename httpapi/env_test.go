package httpapi

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kiroku-voice/kiroku/access"
	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
	"github.com/kiroku-voice/kiroku/storage/fs"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// Test tokens: each name's token is "tok-<name>", configured by hash.
var testTokens = map[string][]string{
	"sup":   {access.Supervisor},
	"po":    {access.PrivacyOfficer},
	"aud":   {access.Auditor},
	"adm":   {access.Admin},
	"multi": {access.Supervisor, access.PrivacyOfficer},
}

func token(name string) string { return "tok-" + name + "-3f9a1c7e5b2d4f60" }

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// testConfig has three purposes: cs-quality open to supervisors and
// privacy officers, complaints to privacy officers only, training to
// supervisors and auditors.
func testConfig(t testing.TB, tokens map[string][]string) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString(`sip:
  listen: ["udp://127.0.0.1:5060"]
purposes:
  - {name: cs-quality, description: カスタマーサービス業務の運営管理およびサービス充実, retention: 90d, listeners: [supervisor, privacy-officer]}
  - {name: complaints, retention: 1y, listeners: [privacy-officer]}
  - {name: training, retention: 30d, listeners: [supervisor, auditor]}
api:
  listen: "127.0.0.1:0"
  tokens:
`)
	for name, roles := range tokens {
		j, _ := json.Marshal(roles)
		b.WriteString("    - {name: " + name + ", roles: " + string(j) + ", sha256: " + hashHex(token(name)) + "}\n")
	}
	cfg, err := config.Parse([]byte(b.String()), "test.yaml", fstest.MapFS{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// env is a catalog, a store, keys and a spool with an uploader, and the
// API over them on a real loopback listener.
type env struct {
	t    testing.TB
	dir  string
	cat  *catalog.Catalog
	st   storage.Store
	keys *crypt.Keyring
	sp   *spool.Dir
	up   *upload.Uploader
	cfg  atomic.Pointer[config.Config]
	api  *API
	srv  *httptest.Server
	logs *observer.ObservedLogs
	wavs map[string][]byte // recording id → its WAV
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := fs.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	return newEnvWith(t, dir, st, testConfig(t, testTokens), nil)
}

func TestMain(m *testing.M) { os.Exit(catalogtest.Main(m)) }

// newEnvWith is newEnv on the store st with the configuration cfg;
// opts, when not nil, adjusts the API's options.
func newEnvWith(t testing.TB, dir string, st storage.Store, cfg *config.Config, opts func(*Options)) *env {
	t.Helper()
	return newEnvOn(t, catalogtest.New(t, catalog.SQLite), dir, st, cfg, opts)
}

// newEnvOn is newEnvWith with its catalog in db.
func newEnvOn(t testing.TB, db catalogtest.DB, dir string, st storage.Store, cfg *config.Config, opts func(*Options)) *env {
	t.Helper()
	e := &env{t: t, dir: dir, st: st, wavs: map[string][]byte{}, cat: db.Open(t)}
	var err error
	if e.keys, err = crypt.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, crypt.KeySize)}); err != nil {
		t.Fatal(err)
	}
	if e.sp, err = spool.Open(filepath.Join(e.dir, "spool")); err != nil {
		t.Fatal(err)
	}
	e.cfg.Store(cfg)
	e.up = upload.New(upload.Options{Spool: e.sp, Store: e.st, Catalog: e.cat, Keys: e.keys, Log: zap.NewNop(),
		RetainUntil: func(cl, p string, s time.Time) (time.Time, bool) { return e.cfg.Load().RetainUntil(cl, p, s) },
		AudioFormat: e.audioFormat})
	core, logs := observer.New(zapcore.DebugLevel)
	e.logs = logs
	o := Options{Catalog: e.cat, Store: e.st, Keys: e.keys, Config: e.cfg.Load, Log: zap.New(core)}
	if opts != nil {
		opts(&o)
	}
	e.api, err = NewAPI(o)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	return e
}

// rec describes a call to seed.
type rec struct {
	purpose, line, caller, decision string
	client                          string
	started                         time.Time
	seconds                         float64 // audio length; 0 for no audio
	silent                          []string
	// withheld: a trusted trunk asserted caller from an anonymous From
	// with Privacy: id.
	withheld bool
	agent    string // agent_id from the answer; "" for none
	end      string // end_reason; "" for caller-hangup
	// edit, when set, changes the manifest before it is written.
	edit func(*spool.Manifest)
}

// stereoWAV returns a WAV of seconds of a 440 Hz tone on the left
// (caller) and 660 Hz on the right (agent).
func stereoWAV(t testing.TB, seconds float64) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wav.NewWriter(f, 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	frames := int(seconds * 8000)
	pcm := make([]byte, 4*frames)
	for i := range frames {
		binary.LittleEndian.PutUint16(pcm[4*i:], uint16(int16(8000*math.Sin(2*math.Pi*440*float64(i)/8000))))
		binary.LittleEndian.PutUint16(pcm[4*i+2:], uint16(int16(8000*math.Sin(2*math.Pi*660*float64(i)/8000))))
	}
	if _, err := w.Write(pcm); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// audioFormat is a purpose's audio_format in the env's configuration.
func (e *env) audioFormat(purpose string) (audiofile.Format, int, bool) {
	p, ok := e.cfg.Load().Purpose(purpose)
	if !ok || p.AudioFormat == "" {
		return audiofile.PCM, 0, ok
	}
	f, err := audiofile.Parse(p.AudioFormat)
	return f, p.OpusBitrate, err == nil
}

// seed stores the calls through the real uploader and returns their ids
// in the order given.
func (e *env) seed(recs ...rec) []string {
	e.t.Helper()
	var ids []string
	for _, r := range recs {
		id := uuid.Must(uuid.NewV7()).String()
		ids = append(ids, id)
		if r.started.IsZero() {
			r.started = time.Now().Add(-time.Hour)
		}
		if r.decision == "" {
			r.decision = spool.Notified
		}
		if r.line == "" {
			r.line = "0120000001"
		}
		ended := r.started.Add(time.Duration((r.seconds + 5) * float64(time.Second)))
		noticeEnd := r.started.Add(4 * time.Second)
		m := &spool.Manifest{Version: spool.ManifestVersion, ID: id, SIPCallID: id + "@test", State: spool.StateDone,
			Caller: r.caller, Dialled: r.line, Line: r.line, Purpose: r.purpose, Client: r.client, StartedAt: r.started, EndedAt: &ended,
			Source: "udp:127.0.0.1:5070", Downstream: "echo:", AgentID: r.agent, EndReason: cmp.Or(r.end, "caller-hangup"),
			Consent: spool.Consent{Decision: r.decision, OptOutDigit: "9",
				Notice: spool.Notice{File: "notice-ja.wav", SHA256: strings.Repeat("ab", 32), Duration: 4,
					StartedAt: &r.started, EndedAt: &noticeEnd, Completed: r.decision != spool.HungUpDuringNotice}}}
		if r.withheld {
			m.CallerFrom, m.CallerAsserted, m.CallerAssertedBy, m.CallerAssertedIn = "anonymous", "sip:"+r.caller+"@carrier.example", "ngn", "pai"
			m.CallerPrivacy, m.CallerWithheld = "id", true
		}
		if r.agent != "" {
			m.AgentIDSource = "header:X-Agent-Id"
		}
		if r.decision == spool.OptedOut {
			m.Consent.OptOut = &spool.OptOut{Digit: "9", At: noticeEnd, Via: "rfc4733"}
		}
		if r.seconds > 0 {
			data := stereoWAV(e.t, r.seconds)
			if err := os.WriteFile(e.sp.RecordingPath(id), data, 0o600); err != nil {
				e.t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			m.State = spool.StateSpooled
			m.Recording = &spool.Recording{File: id + ".wav", Format: spool.RecordingFormat, StartedAt: r.started,
				EndedAt: &ended, Duration: r.seconds, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
				SilentChannels: r.silent}
			e.wavs[id] = data
		}
		if r.edit != nil {
			r.edit(m)
		}
		if err := e.sp.WriteManifest(m); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.up.Pass(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// restrict marks recordings restricted (stop of use).
func (e *env) restrict(ids ...string) {
	e.t.Helper()
	if err := catalog.SetState(e.t.Context(), e.cat.DB(), catalog.StateRestricted, ids...); err != nil {
		e.t.Fatal(err)
	}
}

// do sends a request as name ("" for no token) and returns the response
// with its body read.
func (e *env) do(name, method, path string, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if name != "" {
		req.Header.Set("Authorization", "Bearer "+token(name))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, b
}

// get sends a GET as name and decodes a JSON answer of status want.
func (e *env) get(name, path string, want int, v any) {
	e.t.Helper()
	res, b := e.do(name, http.MethodGet, path, nil)
	if res.StatusCode != want {
		e.t.Fatalf("GET %s as %q: got %d %s, want %d", path, name, res.StatusCode, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			e.t.Fatalf("GET %s: %v in %s", path, err, b)
		}
	}
}

// audit returns the audit entries after seq.
func (e *env) audit(after int64) []audit.Entry {
	e.t.Helper()
	entries, err := audit.List(e.t.Context(), e.cat.DB(), audit.Filter{AfterSeq: after, Limit: 100000})
	if err != nil {
		e.t.Fatal(err)
	}
	return entries
}

// head returns the audit log's last sequence number.
func (e *env) head() int64 {
	e.t.Helper()
	seq, _, err := audit.Head(e.t.Context(), e.cat.DB())
	if err != nil {
		e.t.Fatal(err)
	}
	return seq
}

func decodeJSON(r io.Reader, v any) { json.NewDecoder(r).Decode(v) }
