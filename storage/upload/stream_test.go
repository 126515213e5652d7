package upload_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
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
