package upload_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/internal/testenv/audiotest"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// wireCall replaces the spool WAV of m with two tones as the wire's law
// carried them (caller 440 Hz left, agent 1 kHz right) and names the
// legs' codec; it returns the samples.
func (e *env) wireCall(t testing.TB, m *spool.Manifest, law audiofile.Law) []int16 {
	t.Helper()
	n := int(m.Recording.Duration * 8000)
	pcm := make([]int16, 2*n)
	for i := range n {
		pcm[2*i] = int16(12000 * math.Sin(2*math.Pi*440*float64(i)/8000))
		pcm[2*i+1] = int16(9000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	return e.writeSpool(t, m, pcm, law)
}

// writeSpool replaces the spool WAV of m with pcm passed through law, as
// the recorder writes it, and names the legs' codec in the manifest.
func (e *env) writeSpool(t testing.TB, m *spool.Manifest, pcm []int16, law audiofile.Law) []int16 {
	t.Helper()
	for i, v := range pcm {
		if law == audiofile.ALaw {
			pcm[i] = media.DecodeALaw(media.EncodeALaw(v))
		} else {
			pcm[i] = media.DecodeULaw(media.EncodeULaw(v))
		}
	}
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	data := e.sealAudio(t, m.ID, b, 8000)
	sum := sha256.Sum256(data)
	m.Recording.SHA256, m.Recording.Size = hex.EncodeToString(sum[:]), int64(len(data))
	m.Recording.Channels = []spool.ChannelStats{{Side: "caller", Codec: string(law)}, {Side: "agent", Codec: string(law)}}
	if err := e.spool.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	return pcm
}

func formatIs(f audiofile.Format) func(string) (audiofile.Format, int, bool) {
	return func(string) (audiofile.Format, int, bool) { return f, 0, true }
}

// TestUploadFormats: a recording of each format is stored under its
// extension, sealed; decrypted, its bytes have the SHA-256 the catalog
// and the stored manifest give, and an outside decoder (sox) gives back
// the wire's samples; the manifest names the format and keeps the spool
// PCM's checksum; nothing is left in the spool.
func TestUploadFormats(t *testing.T) {
	for _, tc := range []struct {
		format audiofile.Format
		law    audiofile.Law
		ext    string
		desc   string
	}{
		{audiofile.PCM, audiofile.ULaw, ".wav", "codec=pcm_s16le"},
		{audiofile.G711, audiofile.ULaw, ".wav", "codec=pcm_mulaw"},
		{audiofile.G711, audiofile.ALaw, ".wav", "codec=pcm_alaw"},
		{audiofile.FLAC, audiofile.ALaw, ".flac", "audio/flac; codec=flac"},
	} {
		t.Run(string(tc.format)+"/"+string(tc.law), func(t *testing.T) {
			e := newEnv(t, nil)
			e.up = upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
				RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
				AudioFormat: formatIs(tc.format)})
			m, _ := e.call(t, 8000*3)
			m.Recording.Format = spool.RecordingFormat
			pcm := e.wireCall(t, m, tc.law)
			pcmSum := m.Recording.SHA256
			if err := e.up.Pass(t.Context()); err != nil {
				t.Fatal(err)
			}
			rec, err := e.cat.Get(t.Context(), m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(rec.ObjectKey, m.ID+tc.ext) {
				t.Errorf("got object key %q, want …%s%s", rec.ObjectKey, m.ID, tc.ext)
			}
			r, err := recording.OpenAudio(t.Context(), e.store, e.keys, rec)
			if err != nil {
				t.Fatal(err)
			}
			var plain bytes.Buffer
			if err := r.WriteRange(&plain, 0, r.Size()); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(plain.Bytes())
			if got := hex.EncodeToString(sum[:]); got != rec.AudioSHA256 {
				t.Errorf("stored audio has sha256 %s, catalog says %s", got, rec.AudioSHA256)
			}
			out := filepath.Join(t.TempDir(), "got"+tc.ext)
			os.WriteFile(out, plain.Bytes(), 0o600)
			if got := audiotest.DecodeStereo(t, out); !equal(got, pcm) {
				t.Errorf("sox decodes the stored %s to other samples (%d of %d)", tc.format, len(got), len(pcm))
			}
			doc, err := recording.OpenManifest(t.Context(), e.store, e.keys, rec.ManifestKey)
			if err != nil {
				t.Fatal(err)
			}
			dr := doc.Recording
			if !strings.Contains(dr.Format, tc.desc) || dr.SHA256 != rec.AudioSHA256 || dr.Size != int64(plain.Len()) {
				t.Errorf("stored manifest says format %q sha256 %s size %d; want %q, %s, %d", dr.Format, dr.SHA256, dr.Size, tc.desc, rec.AudioSHA256, plain.Len())
			}
			if want := map[bool]string{true: "", false: pcmSum}[tc.format == audiofile.PCM]; dr.PCMSHA256 != want {
				t.Errorf("stored manifest's pcm_sha256 %q, want %q", dr.PCMSHA256, want)
			}
			if !bytes.Contains(rec.Manifest, []byte(tc.desc)) {
				t.Errorf("catalog's manifest does not name %q", tc.desc)
			}
			if left, _ := os.ReadDir(e.spool.Path()); len(left) != 0 {
				t.Errorf("spool still holds %d files", len(left))
			}
		})
	}
}

func equal(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// failingPut is a store whose Puts fail while fail is set.
type failingPut struct {
	storage.Store
	fail bool
}

func (s *failingPut) Put(ctx context.Context, key string, r io.Reader, size int64, o storage.PutOptions) (storage.Object, error) {
	if s.fail {
		return storage.Object{}, errors.New("store down")
	}
	return s.Store.Put(ctx, key, r, size, o)
}

// TestUploadFormatKeptAcrossAttempts: the format chosen at the first
// attempt is the one stored, whatever the purpose says by the next (a
// reload): kept with the data key, like it, so that a late PUT of the
// first attempt cannot leave other bytes under the key.
func TestUploadFormatKeptAcrossAttempts(t *testing.T) {
	e := newEnv(t, nil)
	st := &failingPut{Store: e.store, fail: true}
	format := audiofile.FLAC
	up := upload.New(upload.Options{Spool: e.spool, Store: st, Catalog: e.cat, Keys: e.keys,
		RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
		AudioFormat: func(string) (audiofile.Format, int, bool) { return format, 0, true }})
	m, _ := e.call(t, 8000)
	e.wireCall(t, m, audiofile.ULaw)
	if err := up.Pass(t.Context()); err == nil {
		t.Fatal("first pass stored with the store down")
	}
	k, err := e.spool.ReadUploadKey(m.ID)
	if err != nil || k.AudioFormat != "flac" {
		t.Fatalf("kept key %+v, %v; want audio_format flac", k, err)
	}
	st.fail, format = false, audiofile.PCM
	if err := up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, _ := e.cat.Get(t.Context(), m.ID)
	if !strings.HasSuffix(rec.ObjectKey, ".flac") {
		t.Errorf("got object key %q, want the first attempt's .flac", rec.ObjectKey)
	}
	if tmp, _ := filepath.Glob(filepath.Join(e.spool.Path(), ".*encoded*")); len(tmp) != 0 {
		t.Errorf("encoded temporaries left: %v", tmp)
	}
}

// TestUploadUnencodableStoredAsIs: a spool WAV the encoder cannot read
// (here mono) is stored as it is, as today, not lost or kept forever.
func TestUploadUnencodableStoredAsIs(t *testing.T) {
	e := newEnv(t, nil)
	e.up = upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
		RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
		AudioFormat: formatIs(audiofile.FLAC)})
	m, _ := e.call(t, 800)
	// A spool written before audio was sealed: its plain WAV.
	os.Remove(e.spool.SealedPath(m.ID))
	path := e.spool.RecordingPath(m.ID)
	f, _ := os.Create(path)
	w, _ := wav.NewWriter(f, 8000, 1)
	w.Write(make([]byte, 1600))
	w.Close()
	f.Close()
	data, _ := os.ReadFile(path)
	sum := sha256.Sum256(data)
	m.Recording.SHA256 = hex.EncodeToString(sum[:])
	e.spool.WriteManifest(m)
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, err := e.cat.Get(t.Context(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(rec.ObjectKey, ".wav") || rec.AudioSHA256 != m.Recording.SHA256 {
		t.Errorf("got key %q sha256 %s, want the spool's WAV (%s)", rec.ObjectKey, rec.AudioSHA256, m.Recording.SHA256)
	}
}

// TestUploadSlowEncodeNotTimedOut: the attempt timeout bounds the store,
// not the encoder: an opus recording that takes longer to encode than
// AttemptTimeout is stored at the first attempt.
func TestUploadSlowEncodeNotTimedOut(t *testing.T) {
	e := newEnv(t, nil)
	up := upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
		RetainUntil:    func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
		AudioFormat:    formatIs(audiofile.Opus),
		AttemptTimeout: 500 * time.Millisecond})
	m, _ := e.call(t, 8000*120) // 2 min: more than a second of opus encoding here, 0.7 s on a quiet machine
	e.wireCall(t, m, audiofile.ULaw)
	start := time.Now()
	if err := up.Pass(t.Context()); err != nil {
		t.Fatalf("%v (the pass took %s)", err, time.Since(start))
	}
	if rec, err := e.cat.Get(t.Context(), m.ID); err != nil || !strings.HasSuffix(rec.ObjectKey, ".opus") {
		t.Fatalf("got %+v, %v; want the opus stored", rec, err)
	}
}

// TestUploadWidebandG711StoredAsFLAC: a purpose storing g711 receives a
// 16 kHz recording (a call with a G.722 leg): G.711 cannot hold it, so it
// is stored losslessly as FLAC, and the manifest and key say so.
func TestUploadWidebandG711StoredAsFLAC(t *testing.T) {
	e := newEnv(t, nil)
	e.up = upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
		RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
		AudioFormat: formatIs(audiofile.G711)})
	m, _ := e.call(t, 0)
	e.sealAudio(t, m.ID, make([]byte, 16000*4), 16000)
	m.State, m.Consent.Decision = spool.StateSpooled, spool.Notified
	m.Recording = &spool.Recording{File: m.ID + spool.SealedExt, Format: spool.RecordingFormatAt(16000), Duration: 1, SHA256: "x"}
	if err := e.spool.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, err := e.cat.Get(t.Context(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(rec.ObjectKey, m.ID+".flac") {
		t.Errorf("object key %q, want the .flac of a 16 kHz recording", rec.ObjectKey)
	}
	if got := recording.AudioFormat(rec); !strings.Contains(got, "audio/flac") || !strings.Contains(got, "rate=16000") {
		t.Errorf("stored format %q, want 16 kHz FLAC", got)
	}
}
