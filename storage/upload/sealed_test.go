package upload_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// spoolWatch is a store that, at each Put, reads every file in the spool
// folder and notes any that holds audio in the clear: a format's magic
// (RIFF, fLaC, OggS) or the first PCM bytes the call's audio has.
type spoolWatch struct {
	storage.Store
	dir   string
	pcm   []byte
	found []string
	puts  int
}

func (s *spoolWatch) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.Object, error) {
	s.puts++
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(s.dir, e.Name()))
		for _, magic := range [][]byte{[]byte("RIFF"), []byte("fLaC"), []byte("OggS"), s.pcm} {
			if bytes.Contains(b, magic) {
				s.found = append(s.found, fmt.Sprintf("%s holds %q", e.Name(), magic[:4]))
			}
		}
	}
	return s.Store.Put(ctx, key, r, size, opts)
}

// TestUploadEncodedCopySealed: while a recording's encoded copy waits in
// the spool to be put (flac, g711 and opus), no file there holds audio in
// the clear, neither the recording nor its copy; the copy is gone after.
func TestUploadEncodedCopySealed(t *testing.T) {
	for _, f := range []audiofile.Format{audiofile.FLAC, audiofile.G711, audiofile.Opus} {
		t.Run(string(f), func(t *testing.T) {
			e := newEnv(t, nil)
			m, data := e.call(t, 16000)
			e.wireCall(t, m, audiofile.ULaw)
			r, _, _ := e.spool.OpenAudio(m.ID)
			data, _ = io.ReadAll(r)
			r.Close()
			w := &spoolWatch{Store: e.store, dir: e.spool.Path(), pcm: data[1000:1016]}
			up := upload.New(upload.Options{Spool: e.spool, Store: w, Catalog: e.cat, Keys: e.keys,
				RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
				AudioFormat: formatIs(f)})
			if err := up.Pass(t.Context()); err != nil {
				t.Fatal(err)
			}
			if rec, err := e.cat.Get(t.Context(), m.ID); err != nil || !strings.HasSuffix(rec.ObjectKey, f.Ext()) {
				t.Fatalf("got %+v, %v; want the %s stored", rec, err, f)
			}
			if w.puts == 0 || len(w.found) > 0 {
				t.Errorf("%d puts; audio in the clear in the spool: %v", w.puts, w.found)
			}
			if left, _ := filepath.Glob(filepath.Join(e.spool.Path(), ".*")); len(left) != 0 {
				t.Errorf("temporaries left in the spool: %v", left)
			}
		})
	}
}

// TestUploadUnfinishedAudio: a final manifest whose sealed audio lacks its
// end record (the recorder's last write refused by a full disk) is
// stored with the whole records, the WAV its manifest describes.
func TestUploadUnfinishedAudio(t *testing.T) {
	e := newEnv(t, nil)
	m, _ := e.call(t, 8000)
	b, _ := os.ReadFile(e.spool.SealedPath(m.ID))
	os.WriteFile(e.spool.SealedPath(m.ID), b[:len(b)-28], 0o600) // the end record
	want := wav.Header(8000, 2, 32000)
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, err := e.cat.Get(t.Context(), m.ID)
	if err != nil {
		t.Fatalf("not stored: %v", err)
	}
	r, err := recording.OpenAudio(t.Context(), e.store, e.keys, rec)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	r.WriteRange(&got, 0, r.Size())
	if !bytes.HasPrefix(got.Bytes(), want) || got.Len() != 44+32000 {
		t.Errorf("stored %d bytes, want the 44-byte header of 32000 bytes and them", got.Len())
	}
}
