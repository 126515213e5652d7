package upload_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// TestUploadDeferred: with Defer saying so, an opus purpose's recording
// is stored as g711 and a flac purpose's as pcm, each queued for the
// transcoder (in the transaction that indexes it) with the purpose's
// format and bitrate; Defer is told the spool's backlog; under Object
// Lock, or when Defer says no, the purpose's format is stored at once and
// nothing is queued.
func TestUploadDeferred(t *testing.T) {
	for _, tc := range []struct {
		name       string
		format     audiofile.Format
		defers     bool
		objectLock bool
		ext, desc  string
		queued     bool
	}{
		{"opus deferred", audiofile.Opus, true, false, ".wav", "codec=pcm_mulaw", true},
		{"flac deferred", audiofile.FLAC, true, false, ".wav", "codec=pcm_s16le", true},
		{"opus not deferred", audiofile.Opus, false, false, ".opus", "codec=opus", false},
		{"opus under object lock", audiofile.Opus, true, true, ".opus", "codec=opus", false},
		{"g711 is never deferred", audiofile.G711, true, false, ".wav", "codec=pcm_mulaw", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			var told []int
			e.up = upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
				RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
				AudioFormat: func(string) (audiofile.Format, int, bool) { return tc.format, 16000, true },
				Defer: func(f audiofile.Format, pending int) bool {
					told = append(told, pending)
					return tc.defers
				},
				ObjectLock: tc.objectLock})
			m, _ := e.call(t, 8000)
			e.wireCall(t, m, audiofile.ULaw)
			e.call(t, 8000) // a second one waiting
			if err := e.up.Pass(t.Context()); err != nil {
				t.Fatal(err)
			}
			rec, err := e.cat.Get(t.Context(), m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(rec.ObjectKey, m.ID+tc.ext) || !strings.Contains(recording.AudioFormat(rec), tc.desc) {
				t.Errorf("stored %s as %s, want %s with %s", rec.ObjectKey, recording.AudioFormat(rec), tc.ext, tc.desc)
			}
			q, err := catalog.GetTranscode(t.Context(), e.cat.DB(), m.ID)
			switch {
			case tc.queued && (err != nil || q.Format != string(tc.format) || q.Bitrate != 16000):
				t.Errorf("queued %+v, %v; want %s at 16000", q, err, tc.format)
			case !tc.queued && err == nil:
				t.Errorf("queued %+v, want nothing", q)
			}
			if tc.format != audiofile.G711 && !tc.objectLock && (len(told) == 0 || told[0] != 2) {
				t.Errorf("Defer was told backlogs %v, want 2 first", told)
			}
		})
	}
}
