package upload_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
	"github.com/kiroku-voice/kiroku/storage/fs"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

type env struct {
	spool *spool.Dir
	store storage.Store
	cat   *catalog.Catalog
	keys  *crypt.Keyring
	up    *upload.Uploader
}

func keyring(t testing.TB, active string, ids ...string) *crypt.Keyring {
	t.Helper()
	m := map[string][]byte{}
	for _, id := range ids {
		m[id] = bytes.Repeat([]byte(id[:1]), crypt.KeySize)
	}
	k, err := crypt.NewKeyring(active, m)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMain(m *testing.M) { os.Exit(catalogtest.Main(m)) }

// newEnv is an uploader on st (nil: a new fs store) with a SQLite catalog.
func newEnv(t *testing.T, st storage.Store) *env {
	t.Helper()
	return newEnvOn(t, catalogtest.New(t, catalog.SQLite), st)
}

// eachCatalog runs f on a new environment per catalog driver.
func eachCatalog(t *testing.T, f func(t *testing.T, e *env)) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) { f(t, newEnvOn(t, db, nil)) })
}

func newEnvOn(t *testing.T, db catalogtest.DB, st storage.Store) *env {
	t.Helper()
	dir := t.TempDir()
	sp, _ := spool.Open(filepath.Join(dir, "spool"))
	if st == nil {
		var err error
		st, err = fs.New(filepath.Join(dir, "store"))
		if err != nil {
			t.Fatal(err)
		}
	}
	e := &env{spool: sp, store: st, cat: db.Open(t), keys: keyring(t, "a", "a")}
	e.up = e.uploader(e.keys)
	return e
}

func (e *env) uploader(keys *crypt.Keyring) *upload.Uploader {
	e.spool.SetKeys(keys) // one keyring seals the spool's audio and the store's, as in the daemon
	return upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: keys,
		RetainUntil: func(_, p string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), p == "cs-quality" }})
}

// call leaves a finished call in the spool: a manifest and, when
// recorded, sealed audio of n frames, as the recorder leaves it; the
// bytes returned are the WAV it reads back as.
func (e *env) call(t testing.TB, frames int) (*spool.Manifest, []byte) {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC()
	m := &spool.Manifest{ID: id, State: spool.StateDone, Caller: "0312345678", Dialled: "0120000001", Line: "0120000001",
		Purpose: "cs-quality", StartedAt: now, EndedAt: &now, Consent: spool.Consent{Decision: spool.OptedOut}}
	var data []byte
	if frames > 0 {
		pcm := make([]byte, frames*4)
		for i := range pcm {
			pcm[i] = byte(i * 7)
		}
		data = e.sealAudio(t, id, pcm, 8000)
		m.State = spool.StateSpooled
		m.Consent.Decision = spool.Notified
		m.Recording = &spool.Recording{File: id + spool.SealedExt, Duration: float64(frames) / 8000, Size: int64(len(data)), SHA256: "x"}
	}
	if err := e.spool.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	return m, data
}

// sealAudio writes pcm (16-bit stereo at rate Hz) as call id's sealed
// audio in the spool, replacing any it had, in the recorder's flushes of
// 200 ms, and returns the WAV it reads back as.
func (e *env) sealAudio(t testing.TB, id string, pcm []byte, rate int) []byte {
	t.Helper()
	os.Remove(e.spool.SealedPath(id))
	os.Remove(e.spool.RecordingPath(id))
	a, err := e.spool.NewAudio(id, "", rate, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := a.Create()
	if err != nil {
		t.Fatal(err)
	}
	for p, flush := pcm, rate*4/5; len(p) > 0; p = p[min(flush, len(p)):] {
		if _, err := w.Write(p[:min(flush, len(p))]); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := a.Kept(); err != nil {
		t.Fatal(err)
	}
	r, _, err := e.spool.OpenAudio(id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestUploadStoresSealedIndexedAudited(t *testing.T) {
	eachCatalog(t, func(t *testing.T, e *env) {
		m, wavBytes := e.call(t, 100000) // 400 kB: several crypt chunks
		if err := e.up.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		rec, err := e.cat.Get(t.Context(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.State != catalog.StateStored || rec.KeyID != "a" || len(rec.WrappedKey) == 0 || rec.Caller != "0312345678" {
			t.Fatalf("got row %+v", rec)
		}
		if !strings.HasPrefix(rec.ObjectKey, "cs-quality/"+m.StartedAt.Format("2006/01/02")+"/") || !strings.HasSuffix(rec.ObjectKey, m.ID+".wav") {
			t.Errorf("got object key %q", rec.ObjectKey)
		}
		obj, err := e.store.Stat(t.Context(), rec.ObjectKey)
		if err != nil {
			t.Fatal(err)
		}
		if obj.Tags["purpose"] != "cs-quality" || obj.Tags["retain-until"] != rec.RetainUntil.Format("2006-01-02") {
			t.Errorf("got tags %v", obj.Tags)
		}
		rc, _ := e.store.Get(t.Context(), rec.ObjectKey, 0, -1)
		stored := new(bytes.Buffer)
		stored.ReadFrom(rc)
		rc.Close()
		if bytes.Contains(stored.Bytes(), wavBytes[44:1044]) || bytes.HasPrefix(stored.Bytes(), []byte("RIFF")) {
			t.Fatal("the stored bytes are the WAV, not sealed")
		}
		r, err := recording.OpenAudio(t.Context(), e.store, e.keys, rec)
		if err != nil {
			t.Fatal(err)
		}
		for _, rg := range [][2]int64{{0, 44}, {70000, 5000}, {int64(len(wavBytes)) - 10, 10}} {
			var out bytes.Buffer
			if err := r.WriteRange(&out, rg[0], rg[1]); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), wavBytes[rg[0]:rg[0]+rg[1]]) {
				t.Errorf("range %v decrypts to other bytes", rg)
			}
		}
		entries, _ := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: m.ID})
		if len(entries) != 1 || entries[0].Action != "store" {
			t.Errorf("got audit %+v, want one store entry", entries)
		}
		left, _ := os.ReadDir(e.spool.Path())
		if len(left) != 0 {
			t.Errorf("spool still holds %d files", len(left))
		}
	})
}

func TestUploadOptedOutKeepsEvidence(t *testing.T) {
	eachCatalog(t, func(t *testing.T, e *env) {
		m, _ := e.call(t, 0)
		if err := e.up.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		rec, err := e.cat.Get(t.Context(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.ObjectKey != "" || rec.Decision != spool.OptedOut || rec.ManifestKey == "" {
			t.Errorf("got %+v, want a row with the consent and no audio", rec)
		}
		if _, err := e.store.Stat(t.Context(), rec.ManifestKey); err != nil {
			t.Errorf("manifest not stored: %v", err)
		}
	})
}

// TestUploadTwiceStoresOnce: a pass redone after a crash between the
// catalog commit and the removal of the spool files stores nothing
// again: the row, its key, its objects and its single store entry stay,
// the spool copy goes.
func TestUploadTwiceStoresOnce(t *testing.T) {
	eachCatalog(t, func(t *testing.T, e *env) {
		m, _ := e.call(t, 8000)
		wavCopy, _ := os.ReadFile(e.spool.SealedPath(m.ID))
		manCopy, _ := os.ReadFile(e.spool.ManifestPath(m.ID))
		e.up.Pass(t.Context())
		first, _ := e.cat.Get(t.Context(), m.ID)
		os.WriteFile(e.spool.SealedPath(m.ID), wavCopy, 0o640)
		os.WriteFile(e.spool.ManifestPath(m.ID), manCopy, 0o640)
		if err := e.up.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(e.spool.ManifestPath(m.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("spool copy still there: %v", err)
		}
		if es, _ := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: m.ID, Action: "store"}); len(es) != 1 {
			t.Errorf("got %d store entries, want 1", len(es))
		}
		if again, _ := e.cat.Get(t.Context(), m.ID); !bytes.Equal(again.WrappedKey, first.WrappedKey) {
			t.Error("the row's data key was replaced by a second upload")
		}
		n := 0
		e.store.List(t.Context(), "", func(o storage.Object) error { n++; return nil })
		if n != 2 {
			t.Errorf("got %d objects, want 2 (audio and manifest, once)", n)
		}
		if c, _ := e.cat.Count(t.Context()); c != 1 {
			t.Errorf("got %d rows, want 1", c)
		}
		rec, _ := e.cat.Get(t.Context(), m.ID)
		if _, err := recording.OpenAudio(t.Context(), e.store, e.keys, rec); err != nil {
			t.Errorf("the row's key does not open the object stored last: %v", err)
		}
	})
}

// TestErasedNotBroughtBack: a spool copy left by a crash of a recording
// erased since (its row replaced by a tombstone) is removed, and the
// recording is not stored again.
func TestErasedNotBroughtBack(t *testing.T) {
	eachCatalog(t, func(t *testing.T, e *env) {
		m, _ := e.call(t, 8000)
		wavCopy, _ := os.ReadFile(e.spool.SealedPath(m.ID))
		manCopy, _ := os.ReadFile(e.spool.ManifestPath(m.ID))
		e.up.Pass(t.Context())
		rec, _ := e.cat.Get(t.Context(), m.ID)
		if err := e.cat.Tx(t.Context(), func(tx *sql.Tx) error {
			ts, err := catalog.NewTombstoner(t.Context(), tx)
			if err != nil {
				return err
			}
			defer ts.Close()
			_, err = ts.Tombstone(t.Context(), rec, time.Now(), "erasure request", "privacy-officer")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{rec.ObjectKey, rec.ManifestKey} {
			e.store.Delete(t.Context(), []string{k})
		}
		os.WriteFile(e.spool.SealedPath(m.ID), wavCopy, 0o640)
		os.WriteFile(e.spool.ManifestPath(m.ID), manCopy, 0o640)
		if err := e.up.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cat.Get(t.Context(), m.ID); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("erased recording back in the catalog: %v", err)
		}
		n := 0
		e.store.List(t.Context(), "", func(o storage.Object) error { n++; return nil })
		if n != 0 {
			t.Errorf("got %d objects, want none", n)
		}
		if _, err := os.Stat(e.spool.SealedPath(m.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("spool copy still there: %v", err)
		}
	})
}

func TestKeyRotationAndWrongKey(t *testing.T) {
	e := newEnv(t, nil)
	m, wavBytes := e.call(t, 8000)
	e.up.Pass(t.Context())
	rotated := keyring(t, "b", "a", "b")
	e.up = e.uploader(rotated)
	m2, _ := e.call(t, 8000)
	e.up.Pass(t.Context())
	for _, id := range []string{m.ID, m2.ID} {
		rec, _ := e.cat.Get(t.Context(), id)
		r, err := recording.OpenAudio(t.Context(), e.store, rotated, rec)
		if err != nil {
			t.Fatalf("%s (key %s) after rotation: %v", id, rec.KeyID, err)
		}
		var out bytes.Buffer
		r.WriteRange(&out, 0, r.Size())
		if id == m.ID && !bytes.Equal(out.Bytes(), wavBytes) {
			t.Error("old recording decrypts to other bytes after rotation")
		}
	}
	wrong, _ := crypt.NewKeyring("a", map[string][]byte{"a": bytes.Repeat([]byte("z"), 32)})
	rec, _ := e.cat.Get(t.Context(), m.ID)
	if _, err := recording.OpenAudio(t.Context(), e.store, wrong, rec); !errors.Is(err, crypt.ErrWrongKey) {
		t.Errorf("got %v with a wrong master key, want ErrWrongKey", err)
	}
	if _, err := e.store.Stat(t.Context(), rec.ObjectKey); err != nil {
		t.Errorf("object gone after a wrong-key read: %v", err)
	}
}

func TestUnknownPurposeStaysInSpool(t *testing.T) {
	e := newEnv(t, nil)
	m, _ := e.call(t, 800)
	m.Purpose = "gone"
	e.spool.WriteManifest(m)
	good, _ := e.call(t, 800)
	e.up.Pass(t.Context())
	if _, err := os.Stat(e.spool.ManifestPath(m.ID)); err != nil {
		t.Errorf("call of an unknown purpose left the spool: %v", err)
	}
	if _, err := e.cat.Get(t.Context(), good.ID); err != nil {
		t.Errorf("a bad call blocked a good one: %v", err)
	}
}

var _ = context.Background

// TestRebuildCatalog: a catalog rebuilt from the store's manifests alone
// matches the original row for row; with the old catalog as key source,
// the audio opens again.

// TestUploadSilentChannels: a recording whose caller channel got no
// packet is stored flagged in the catalog, and the webhook hears of it
// twice: recording.stored with the channels, then recording.silent.
func TestUploadSilentChannels(t *testing.T) {
	for _, tc := range []struct {
		name       string
		silent     []string
		wantEvents []string
	}{
		{"audio on both channels", nil, []string{"recording.stored"}},
		{"caller channel silent", []string{"caller"}, []string{"recording.stored", "recording.silent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			var events []upload.Event
			up := upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
				RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
				Notify:      func(ev upload.Event) { events = append(events, ev) }})
			m, _ := e.call(t, 800)
			m.Recording.SilentChannels = tc.silent
			if err := e.spool.WriteManifest(m); err != nil {
				t.Fatal(err)
			}
			if err := up.Pass(t.Context()); err != nil {
				t.Fatal(err)
			}
			rec, err := e.cat.Get(t.Context(), m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(rec.SilentChannels) != fmt.Sprint(tc.silent) {
				t.Errorf("got catalog silent channels %q, want %q", rec.SilentChannels, tc.silent)
			}
			var types []string
			for _, ev := range events {
				types = append(types, ev.Type)
				if ev.ID != m.ID || fmt.Sprint(ev.SilentChannels) != fmt.Sprint(tc.silent) {
					t.Errorf("got event %+v, want id %s and silent channels %q", ev, m.ID, tc.silent)
				}
			}
			if fmt.Sprint(types) != fmt.Sprint(tc.wantEvents) {
				t.Errorf("got events %q, want %q", types, tc.wantEvents)
			}
		})
	}
}
