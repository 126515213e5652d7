package recording_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// TestRebuildStoredFormats: recordings stored as flac and opus (and one
// stored before formats, as pcm) rebuild from the bucket into the same
// rows — object key with its extension, the stored audio's SHA-256 —
// and read back with their content type and format.
func TestRebuildStoredFormats(t *testing.T) {
	e := newEnv(t, catalogtest.New(t, catalog.SQLite))
	want := map[string]string{}
	for _, f := range []audiofile.Format{audiofile.PCM, audiofile.FLAC, audiofile.Opus} {
		e.up = upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
			RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
			AudioFormat: func(string) (audiofile.Format, int, bool) { return f, 0, true }})
		m := e.call(t, 8000)
		if err := e.up.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		want[m.ID] = f.Ext()
	}
	fresh, err := catalog.Open(t.Context(), filepath.Join(t.TempDir(), "rebuilt.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if res, err := recording.Rebuild(t.Context(), e.store, e.keys, fresh, e.cat); err != nil || res.Restored != 3 {
		t.Fatalf("got %+v, %v; want 3 restored", res, err)
	}
	for id, ext := range want {
		a, _ := e.cat.Get(t.Context(), id)
		b, err := fresh.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(b.ObjectKey, id+ext) || b.AudioSHA256 != a.AudioSHA256 || recording.AudioFile(b) != id+ext {
			t.Errorf("%s: rebuilt key %q sha256 %s, uploaded %q %s", id, b.ObjectKey, b.AudioSHA256, a.ObjectKey, a.AudioSHA256)
		}
		a.StoredAt, b.StoredAt = time.Time{}, time.Time{}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("row %s differs after rebuild:\n%s\n%s", id, ja, jb)
		}
		ct := map[string]string{".wav": "audio/wav", ".flac": "audio/flac", ".opus": "audio/ogg; codecs=opus"}[ext]
		if got := recording.AudioContentType(b); got != ct {
			t.Errorf("%s: content type %q, want %q", id, got, ct)
		}
		if got := recording.AudioFormat(b); (ext == ".wav") != strings.Contains(got, "pcm_s16le") {
			t.Errorf("%s: format %q for %s", id, got, ext)
		}
	}
}
