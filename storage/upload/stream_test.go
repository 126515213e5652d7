package upload_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/fs"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// tempWatch is a store that notes, at each Put, the bytes of temporary
// files in the spool while the PUT's body is read.
type tempWatch struct {
	storage.Store
	spool *spool.Dir

	mu  sync.Mutex
	max int64
}

func (w *tempWatch) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.Object, error) {
	return w.Store.Put(ctx, key, &watchedReader{r: r, w: w}, size, opts)
}

type watchedReader struct {
	r io.Reader
	w *tempWatch
}

func (r *watchedReader) Read(p []byte) (int, error) {
	r.w.note()
	return r.r.Read(p)
}

func (w *tempWatch) note() {
	entries, _ := os.ReadDir(w.spool.Path())
	var n int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), ".") {
			n += fi.Size()
		}
	}
	w.mu.Lock()
	w.max = max(w.max, n)
	w.mu.Unlock()
}

// TestUploadNoSealedCopy: a recording is sealed while it streams to the
// store: no sealed copy of it is written into the spool (a full spool
// disk could not drain if each upload needed room for one), and what is
// stored opens to the spool's audio.
func TestUploadNoSealedCopy(t *testing.T) {
	e := newEnv(t, nil)
	w := &tempWatch{Store: e.store, spool: e.spool}
	e.store = w
	e.up = e.uploader(e.keys)
	m, wavBytes := e.call(t, 200000) // 800 kB
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	if w.max != 0 {
		t.Errorf("got %d bytes of temporary files in the spool during the upload, want none", w.max)
	}
	rec, err := e.cat.Get(t.Context(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := recording.OpenAudio(t.Context(), e.store, e.keys, rec)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := r.WriteRange(&out, 0, int64(len(wavBytes))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), wavBytes) {
		t.Error("the stored audio opens to other bytes than the spool's")
	}
}

// TestUploadEncodesInMemoryOnFullSpool: with the spool's disk (a 2 MiB
// tmpfs the test mounts) too full for the encoded copy of a g711
// recording, the uploader encodes it in memory and stores it, rather
// than failing every attempt while the spool cannot drain.
func TestUploadEncodesInMemoryOnFullSpool(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting the test's tmpfs needs root")
	}
	dir := t.TempDir()
	mnt := filepath.Join(dir, "spool")
	if err := os.Mkdir(mnt, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
		}
	})
	sp, err := spool.Open(mnt)
	if err != nil {
		t.Fatal(err)
	}
	st, err := fs.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{spool: sp, store: st, cat: catalogtest.New(t, catalog.SQLite).Open(t), keys: keyring(t, "a", "a")}
	sp.SetKeys(e.keys)
	e.up = upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
		RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
		AudioFormat: formatIs(audiofile.G711)})
	m, _ := e.call(t, 100000) // 400 kB of PCM, 200 kB as g711
	free, err := sp.Free()
	if err != nil {
		t.Fatal(err)
	}
	// Room left for the upload key, not for the encoded copy.
	if err := os.WriteFile(filepath.Join(mnt, "filler"), make([]byte, free-64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, err := e.cat.Get(t.Context(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := recording.OpenAudio(t.Context(), e.store, e.keys, rec)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Size(), int64(58+100000*2); got != want { // a G.711 WAV's header has a fact chunk: 58 bytes
		t.Errorf("got %d bytes of stored audio, want %d: the g711 encoding", got, want)
	}
	if left, _ := filepath.Glob(filepath.Join(mnt, ".*")); len(left) != 0 {
		t.Errorf("temporary files left in the spool: %v", left)
	}
}
