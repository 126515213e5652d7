package rights_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/rights"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
	"github.com/kiroku-voice/kiroku/storage/fs"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// env is a real catalog, fs store, keyring and uploader in a temporary
// folder: recordings are made the way kirokud makes them.
type env struct {
	dir    string
	spool  *spool.Dir
	store  storage.Store
	cat    *catalog.Catalog
	keys   *crypt.Keyring
	up     *upload.Uploader
	svc    *rights.Service
	wavs   map[string][]byte // recording id → its WAV
	n      int
	lastID string
	agent  string // agent_id the next spooled call's answer gave
}

func TestMain(m *testing.M) { os.Exit(catalogtest.Main(m)) }

// newEnv is an environment with a SQLite catalog in its folder.
func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvOn(t, catalog.SQLite)
}

// newEnvOn is an environment with a catalog of driver.
func newEnvOn(t testing.TB, driver string) *env {
	t.Helper()
	dir := t.TempDir()
	sp, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := fs.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	var cat *catalog.Catalog
	if driver == catalog.SQLite {
		if cat, err = catalog.Open(t.Context(), filepath.Join(dir, "catalog.db")); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cat.Close() })
	} else {
		cat = catalogtest.New(t, driver).Open(t)
	}
	keys, err := crypt.NewKeyring("a", map[string][]byte{"a": bytes.Repeat([]byte("k"), crypt.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, spool: sp, store: st, cat: cat, keys: keys, wavs: map[string][]byte{}}
	e.up = upload.New(upload.Options{Spool: sp, Store: st, Catalog: cat, Keys: keys,
		RetainUntil: func(_, p string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true }})
	desc := map[string]string{"cs-quality": "応対品質の向上 / service quality", "complaints": "苦情対応 / complaint handling"}
	e.svc, err = rights.New(rights.Options{Catalog: cat, Store: st, Keys: keys, Purpose: func(n string) string { return desc[n] }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// record makes a stored recording of caller for purpose with a WAV of
// frames stereo frames and returns its id.
func (e *env) record(t testing.TB, caller, purpose string, frames int) string {
	t.Helper()
	e.spoolCall(t, caller, purpose, frames)
	id := e.lastID
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) spoolCall(t testing.TB, caller, purpose string, frames int) {
	t.Helper()
	e.n++
	id := uuid.Must(uuid.NewV7()).String()
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(e.n) * time.Minute)
	end := start.Add(time.Minute)
	m := &spool.Manifest{ID: id, State: spool.StateSpooled, Caller: caller, Dialled: "0120000001", Line: "0120000001",
		Purpose: purpose, StartedAt: start, EndedAt: &end, Consent: spool.Consent{Decision: spool.Notified}}
	if e.agent != "" {
		m.AgentID, m.AgentIDSource, e.agent = e.agent, "header:X-Agent-Id", ""
	}
	path := e.spool.RecordingPath(id)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := wav.NewWriter(f, 8000, 2)
	pcm := make([]byte, frames*4)
	for i := range pcm {
		pcm[i] = byte(i*7 + e.n)
	}
	w.Write(pcm)
	w.Close()
	f.Close()
	data, _ := os.ReadFile(path)
	if len(e.wavs) < 50 {
		e.wavs[id] = data
	}
	m.Recording = &spool.Recording{File: id + ".wav", Duration: float64(frames) / 8000, Size: int64(len(data)), SHA256: "x"}
	if err := e.spool.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	e.lastID = id
}
