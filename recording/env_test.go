package recording_test

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
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
	"github.com/kiroku-voice/kiroku/storage/fs"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

func TestMain(m *testing.M) { os.Exit(catalogtest.Main(m)) }

// env is a spool drained by an uploader into an fs store, with a catalog.
type env struct {
	spool *spool.Dir
	store storage.Store
	cat   *catalog.Catalog
	keys  *crypt.Keyring
	up    *upload.Uploader
}

func newEnv(t *testing.T, db catalogtest.DB) *env {
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
	keys, err := crypt.NewKeyring("a", map[string][]byte{"a": bytes.Repeat([]byte("a"), crypt.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{spool: sp, store: st, cat: db.Open(t), keys: keys}
	e.up = upload.New(upload.Options{Spool: sp, Store: st, Catalog: e.cat, Keys: keys,
		RetainUntil: func(_, p string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), p == "cs-quality" }})
	return e
}

// call leaves a finished call in the spool: a manifest and, when
// recorded, a WAV of n frames.
func (e *env) call(t testing.TB, frames int) *spool.Manifest {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC()
	m := &spool.Manifest{ID: id, State: spool.StateDone, Caller: "0312345678", Dialled: "0120000001", Line: "0120000001",
		Purpose: "cs-quality", StartedAt: now, EndedAt: &now, Consent: spool.Consent{Decision: spool.OptedOut}}
	if frames > 0 {
		path := e.spool.RecordingPath(id)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := wav.NewWriter(f, 8000, 2)
		w.Write(make([]byte, frames*4))
		w.Close()
		f.Close()
		fi, _ := os.Stat(path)
		m.State = spool.StateSpooled
		m.Consent.Decision = spool.Notified
		m.Recording = &spool.Recording{File: id + ".wav", Duration: float64(frames) / 8000, Size: fi.Size(), SHA256: "x"}
	}
	if err := e.spool.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	return m
}

// stored leaves n recorded calls in the store and the catalog.
func (e *env) stored(t *testing.T, n int) []*catalog.Recording {
	t.Helper()
	var ids []string
	for range n {
		ids = append(ids, e.call(t, 800).ID)
	}
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	var out []*catalog.Recording
	for _, id := range ids {
		r, err := e.cat.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
