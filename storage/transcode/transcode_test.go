package transcode_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/internal/testenv/audiotest"
	"github.com/kiroku-voice/kiroku/recording"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// decode writes audio (as stored in format) to a file and decodes it
// with the format's reference tool to interleaved stereo at 8 kHz.
func decode(t *testing.T, format audiofile.Format, audio []byte) []int16 {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"+format.Ext()), filepath.Join(dir, "out.wav")
	os.WriteFile(in, audio, 0o600)
	var cmd *exec.Cmd
	switch format {
	case audiofile.FLAC:
		cmd = exec.Command(audiotest.Tool(t, "flac"), "-s", "-d", "-o", out, in)
	case audiofile.Opus:
		cmd = exec.Command(audiotest.Tool(t, "opusdec"), "--quiet", "--rate", "8000", in, out)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd.Path, err, b)
	}
	return audiotest.DecodeStereo(t, out)
}

// transcodeEntries returns the audit's transcode entries of id.
func transcodeEntries(t *testing.T, e *env, id string) []audit.Entry {
	t.Helper()
	es, err := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: id, Action: string(audit.ActionTranscode)})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func queued(t *testing.T, e *env) int {
	t.Helper()
	n, err := e.cat.CountTranscodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConvert: a recording of an opus purpose is stored as g711 and one
// of a flac purpose as pcm, each queued in the transaction that stored
// it; a pass converts it — the row names the new object and its
// checksums, the stored manifest names them too, the old object is
// destroyed, one audit entry records old and new — and the result passes
// the quality checks: flac decodes (flac -d) to the wire's samples
// exactly, opus (opusdec) keeps each party's tone in its own channel 30
// dB above the other and the caller's signal at a correlation ≥ 0.85.
// A byte range reads the same bytes as the whole, before and after.
func TestConvert(t *testing.T) {
	for _, tc := range []struct {
		format    audiofile.Format
		storedAs  string // description of the cheap format
		storedExt string
	}{
		{audiofile.Opus, "codec=pcm_mulaw", ".opus"},
		{audiofile.FLAC, "codec=pcm_s16le", ".flac"},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			e := newEnv(t, tc.format)
			var speech []int16
			if tc.format == audiofile.Opus {
				speech = audiotest.Speech(t, "en", "Thank you for calling. This call will be recorded to manage and improve our customer service.").PCM
			}
			pcm := call(max(8000*6, 2*len(speech)), speech...)
			rec := e.store1(t, pcm)
			if !strings.HasSuffix(rec.ObjectKey, ".wav") || !strings.Contains(recording.AudioFormat(rec), tc.storedAs) {
				t.Fatalf("stored first as %s (%s), want a .wav with %s", rec.ObjectKey, recording.AudioFormat(rec), tc.storedAs)
			}
			if n := queued(t, e); n != 1 {
				t.Fatalf("got %d queued conversions, want 1", n)
			}
			whole, part := e.audio(t, rec, 1000, 70000) // across a 64 KiB chunk
			if !bytes.Equal(part, whole[1000:71000]) {
				t.Fatal("before: a range differs from the whole's bytes there")
			}
			oldKey := rec.ObjectKey

			tr := e.transcoder()
			if err := tr.Pass(t.Context()); err != nil {
				t.Fatal(err)
			}
			got, err := e.cat.Get(t.Context(), rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimSuffix(oldKey, ".wav") + tc.storedExt; got.ObjectKey != want {
				t.Fatalf("got object key %s, want %s", got.ObjectKey, want)
			}
			if ct, _, _ := strings.Cut(audiofile.ContentTypeOf(got.ObjectKey), ";"); !strings.HasPrefix(recording.AudioFormat(got), ct+"; codec="+string(tc.format)) {
				t.Errorf("manifest format %q, want %s", recording.AudioFormat(got), audiofile.ContentTypeOf(got.ObjectKey))
			}
			if st := tr.Stats(); st.Converted != 1 || st.Failed != 0 || st.Pending != 0 || queued(t, e) != 0 {
				t.Errorf("got stats %+v and %d queued, want 1 converted, 0 failed, none pending", st, queued(t, e))
			}
			keys := e.objects(t)
			if len(keys) != 2 || !slices.Contains(keys, got.ManifestKey) || !slices.Contains(keys, got.ObjectKey) {
				t.Errorf("store holds %v, want the manifest and the new object only", keys)
			}
			after, part := e.audio(t, got, 1000, 300)
			if !bytes.Equal(part, after[1000:1300]) {
				t.Error("after: a range differs from the whole's bytes there")
			}
			if sha(after) != got.AudioSHA256 {
				t.Errorf("audio sha256 %s, catalog says %s", sha(after), got.AudioSHA256)
			}
			sm, err := recording.OpenManifest(t.Context(), e.store, e.keys, got.ManifestKey)
			if err != nil {
				t.Fatal(err)
			}
			if sm.ObjectKey != got.ObjectKey || sm.SealedSHA256 != got.SHA256 || sm.Recording.SHA256 != got.AudioSHA256 ||
				sm.Recording.PCMSHA256 == "" || sm.Recording.Size != int64(len(after)) {
				t.Errorf("stored manifest names %s sha %s audio %s (%d bytes, pcm %q); want the new object's",
					sm.ObjectKey, sm.SealedSHA256, sm.Recording.SHA256, sm.Recording.Size, sm.Recording.PCMSHA256)
			}
			es := transcodeEntries(t, e, rec.ID)
			if len(es) != 1 {
				t.Fatalf("got %d transcode audit entries, want 1", len(es))
			}
			var d struct{ Old, New map[string]any }
			json.Unmarshal([]byte(es[0].Detail), &d)
			if d.Old["object_key"] != oldKey || d.Old["sha256"] != rec.SHA256 || d.New["object_key"] != got.ObjectKey || d.New["sha256"] != got.SHA256 {
				t.Errorf("audit detail %s: want old %s/%s and new %s/%s", es[0].Detail, oldKey, rec.SHA256, got.ObjectKey, got.SHA256)
			}
			if _, err := audit.Verify(t.Context(), e.cat.DB()); err != nil {
				t.Errorf("audit chain: %v", err)
			}

			dec := decode(t, tc.format, after)
			if tc.format == audiofile.FLAC {
				if !slicesEqual(dec, pcm) {
					t.Fatalf("flac decodes to %d samples differing from the wire's %d", len(dec), len(pcm))
				}
				return
			}
			if len(dec) < len(pcm)-320 || len(dec) > len(pcm)+320 {
				t.Fatalf("decoded %d samples, want %d", len(dec), len(pcm))
			}
			n := len(pcm) / 2
			l, r := channel(dec, 0), channel(dec, 1)
			tail, rtail := l[n/2+800:n-800], r[n/2+800:n-800]
			if in, leak := goertzel(tail, 440), goertzel(rtail, 440); in < 1000*leak || in < 1e5 {
				t.Errorf("caller's 440 Hz: %.0f on the caller's channel, %.0f on the agent's", in, leak)
			}
			if in, leak := goertzel(rtail, 1000), goertzel(tail, 1000); in < 1000*leak || in < 1e5 {
				t.Errorf("agent's 1 kHz: %.0f on the agent's channel, %.0f on the caller's", in, leak)
			}
			if c := correlation(l[:len(speech)], channel(pcm, 0)[:len(speech)]); c < 0.85 {
				t.Errorf("decoded speech correlates %.3f with the original, want ≥ 0.85", c)
			}
		})
	}
}

func slicesEqual(a, b []int16) bool { return len(a) == len(b) && bytes.Equal(i16(a), i16(b)) }

func i16(x []int16) []byte {
	b := make([]byte, 2*len(x))
	for i, v := range x {
		b[2*i], b[2*i+1] = byte(v), byte(v>>8)
	}
	return b
}

var errKilled = errors.New("killed")

// TestResumeAfterKill: a conversion cut at each step where a kill could
// leave it — after the new object was put, before the row was switched;
// after the switch, before the manifest and the old object — is finished
// by a new transcoder on the same catalog and store: one audio object
// and the manifest remain, the row names the one, one audit entry, the
// queue is empty and the audit chain verifies.
func TestResumeAfterKill(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) { resumeAfterKill(t, db) })
}

func resumeAfterKill(t *testing.T, db catalogtest.DB) {
	for _, at := range []string{"after the new object", "after the switch"} {
		t.Run(at, func(t *testing.T) {
			e := newEnvOn(t, catalogtest.New(t, db.Driver), audiofile.Opus)
			rec := e.store1(t, call(8000*2))
			ctx, kill := context.WithCancel(t.Context())
			e.store.set(nil, func(_ context.Context, key string) error {
				if (at == "after the new object" && strings.HasSuffix(key, ".opus")) ||
					(at == "after the switch" && strings.HasSuffix(key, ".json")) {
					kill() // the process dies here: nothing after this runs
					return errKilled
				}
				return nil
			})
			if err := e.transcoder().Pass(ctx); err == nil {
				t.Fatal("the killed pass returned no error")
			}
			e.store.set(nil, nil)
			got, _ := e.cat.Get(t.Context(), rec.ID)
			if switched := strings.HasSuffix(got.ObjectKey, ".opus"); switched != (at == "after the switch") {
				t.Fatalf("killed %s: row names %s", at, got.ObjectKey)
			}
			if n := len(e.objects(t)); n != 3 {
				t.Fatalf("killed %s: store holds %v, want both audio objects and the manifest", at, e.objects(t))
			}

			tr := e.transcoder() // the restart
			if err := tr.Pass(t.Context()); err != nil {
				t.Fatal(err)
			}
			got, _ = e.cat.Get(t.Context(), rec.ID)
			keys := e.objects(t)
			if len(keys) != 2 || !slices.Contains(keys, got.ObjectKey) || !strings.HasSuffix(got.ObjectKey, ".opus") {
				t.Errorf("store holds %v, row names %s: want the manifest and the .opus only", keys, got.ObjectKey)
			}
			whole, _ := e.audio(t, got, 0, 1)
			if sha(whole) != got.AudioSHA256 {
				t.Error("the stored audio does not match the catalog's checksum")
			}
			if sm, err := recording.OpenManifest(t.Context(), e.store, e.keys, got.ManifestKey); err != nil || sm.ObjectKey != got.ObjectKey {
				t.Errorf("stored manifest: %v, names %v; want %s", err, sm, got.ObjectKey)
			}
			if n := len(transcodeEntries(t, e, rec.ID)); n != 1 || queued(t, e) != 0 {
				t.Errorf("got %d transcode entries and %d queued, want 1 and 0", n, queued(t, e))
			}
			if _, err := audit.Verify(t.Context(), e.cat.DB()); err != nil {
				t.Errorf("audit chain: %v", err)
			}
		})
	}
}

// erase destroys rec as an erasure does, through the one destroy path.
func erase(t *testing.T, ctx context.Context, e *env, id string) {
	t.Helper()
	_, err := recording.NewDestroyer(e.cat, e.store.Store).Destroy(ctx, []*catalog.Recording{{ID: id}}, recording.Destruction{
		At: time.Now().UTC(), Reason: "erasure request R1", Actor: "privacy",
		Entry: func(got *catalog.Recording) audit.Entry {
			return audit.Entry{Actor: "privacy", Action: audit.ActionErase, Target: got.ID, Reason: "erasure request R1"}
		}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestErasedNotConverted: a recording erased while queued is not
// converted, and one erased while its conversion runs (the new object
// already put) is not brought back: the store is empty after the pass,
// nothing is audited as transcoded and the queue is empty.
func TestErasedNotConverted(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) { erasedNotConverted(t, db) })
}

func erasedNotConverted(t *testing.T, db catalogtest.DB) {
	for _, when := range []string{"queued", "converting", "switched"} {
		t.Run(when, func(t *testing.T) {
			e := newEnvOn(t, catalogtest.New(t, db.Driver), audiofile.Opus)
			rec := e.store1(t, call(8000))
			switch when {
			case "queued":
				erase(t, t.Context(), e, rec.ID)
			case "converting":
				e.store.set(nil, func(ctx context.Context, key string) error {
					if strings.HasSuffix(key, ".opus") {
						erase(t, ctx, e, rec.ID)
					}
					return nil
				})
			case "switched": // erased as the manifest is rewritten
				e.store.set(func(ctx context.Context, key string) error {
					if strings.HasSuffix(key, ".json") {
						erase(t, ctx, e, rec.ID)
					}
					return nil
				}, nil)
			}
			tr := e.transcoder()
			if err := tr.Pass(t.Context()); err != nil {
				t.Fatal(err)
			}
			if keys := e.objects(t); len(keys) != 0 {
				t.Errorf("store holds %v after the erasure, want nothing", keys)
			}
			if _, err := e.cat.Get(t.Context(), rec.ID); !errors.Is(err, catalog.ErrNotFound) {
				t.Errorf("row: %v, want it gone", err)
			}
			wantEntries := 0
			if when == "switched" {
				wantEntries = 1 // converted, then erased
			}
			if n := len(transcodeEntries(t, e, rec.ID)); n != wantEntries || queued(t, e) != 0 {
				t.Errorf("got %d transcode entries and %d queued, want %d and 0", n, queued(t, e), wantEntries)
			}
		})
	}
}

// TestHeldOrRestrictedWaits: a recording under legal hold or restricted
// (stop of use) is not converted while it is so: it stays queued and its
// stored object readable as it was; once released, it is converted.
func TestHeldOrRestrictedWaits(t *testing.T) {
	for _, how := range []string{"held", "restricted"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, audiofile.FLAC)
			rec := e.store1(t, call(8000))
			db := e.cat.DB()
			set := func(on bool) {
				var err error
				if how == "held" {
					err = catalog.SetHold(t.Context(), db, on, "case 7", rec.ID)
				} else if on {
					err = catalog.SetState(t.Context(), db, catalog.StateRestricted, rec.ID)
				} else {
					err = catalog.SetState(t.Context(), db, catalog.StateStored, rec.ID)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			set(true)
			before, _ := e.audio(t, rec, 0, 1)
			tr := e.transcoder()
			if err := tr.Pass(t.Context()); err != nil {
				t.Fatal(err)
			}
			got, _ := e.cat.Get(t.Context(), rec.ID)
			if got.ObjectKey != rec.ObjectKey || queued(t, e) != 1 || len(e.objects(t)) != 2 {
				t.Fatalf("%s: row names %s, %d queued, store %v: want it untouched and queued", how, got.ObjectKey, queued(t, e), e.objects(t))
			}
			if now, _ := e.audio(t, got, 0, 1); !bytes.Equal(now, before) {
				t.Errorf("%s: the stored audio changed", how)
			}
			set(false)
			if err := tr.Pass(t.Context()); err != nil {
				t.Fatal(err)
			}
			got, _ = e.cat.Get(t.Context(), rec.ID)
			if !strings.HasSuffix(got.ObjectKey, ".flac") || queued(t, e) != 0 {
				t.Errorf("released: row names %s, %d queued; want the .flac and none", got.ObjectKey, queued(t, e))
			}
		})
	}
}

// TestWideband: a 16 kHz recording (a G.722 leg) of an opus purpose is
// stored first as pcm (g711 cannot hold it) and converted to a 16 kHz
// Ogg Opus stream, which the manifest says.
func TestWideband(t *testing.T) {
	e := newEnv(t, audiofile.Opus)
	rec := e.storeAt(t, call(16000), 16000)
	if !strings.Contains(recording.AudioFormat(rec), "codec=pcm_s16le; rate=16000") {
		t.Fatalf("stored first as %s, want 16 kHz pcm", recording.AudioFormat(rec))
	}
	if err := e.transcoder().Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, _ := e.cat.Get(t.Context(), rec.ID)
	if !strings.HasSuffix(got.ObjectKey, ".opus") || !strings.Contains(recording.AudioFormat(got), "codec=opus; bitrate=24000; streams=2; rate=16000") {
		t.Errorf("converted to %s as %s, want 16 kHz opus", got.ObjectKey, recording.AudioFormat(got))
	}
}

// TestDueSoonNotConverted: a recording due for deletion within the
// margin (a day) is taken off the queue as it is, unconverted.
func TestDueSoonNotConverted(t *testing.T) {
	e := newEnv(t, audiofile.Opus)
	rec := e.store1(t, call(8000))
	tr := e.transcoderAt(func() time.Time { return rec.RetainUntil.Add(-time.Hour) })
	if err := tr.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, _ := e.cat.Get(t.Context(), rec.ID)
	if got.ObjectKey != rec.ObjectKey || queued(t, e) != 0 || tr.Stats().Converted != 0 {
		t.Errorf("row names %s, %d queued, stats %+v: want it as stored and off the queue", got.ObjectKey, queued(t, e), tr.Stats())
	}
}

// TestRetaggedDuringConversion: a retention change committed while a
// conversion runs (the new object tagged with the old date) is not
// switched to: the new object is deleted, the recording stays queued,
// and the next pass converts it with the new date's tags.
func TestRetaggedDuringConversion(t *testing.T) {
	e := newEnv(t, audiofile.Opus)
	rec := e.store1(t, call(8000))
	later := rec.RetainUntil.AddDate(0, 1, 0)
	e.store.set(nil, func(ctx context.Context, key string) error {
		if strings.HasSuffix(key, ".opus") {
			e.store.set(nil, nil)
			return catalog.SetRetainUntil(ctx, e.cat.DB(), rec.ID, later)
		}
		return nil
	})
	tr := e.transcoder()
	if err := tr.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, _ := e.cat.Get(t.Context(), rec.ID)
	if got.ObjectKey != rec.ObjectKey || queued(t, e) != 1 || len(e.objects(t)) != 2 {
		t.Fatalf("after the retention change: row names %s, %d queued, store %v; want as stored, queued", got.ObjectKey, queued(t, e), e.objects(t))
	}
	if err := tr.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, _ = e.cat.Get(t.Context(), rec.ID)
	o, err := e.store.Stat(t.Context(), got.ObjectKey)
	if err != nil || !strings.HasSuffix(got.ObjectKey, ".opus") || o.Tags["retain-until"] != later.Format("2006-01-02") {
		t.Errorf("converted to %s with tags %v (%v), want the .opus tagged %s", got.ObjectKey, o.Tags, err, later.Format("2006-01-02"))
	}
}

// TestTwoNodes: two transcoders on one catalog (two nodes on PostgreSQL)
// passing at once convert a recording once: one object, the row naming
// it, one audit entry, the queue empty.
func TestTwoNodes(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		e := newEnvOn(t, db, audiofile.Opus)
		rec := e.store1(t, call(8000*4))
		other := *e
		if db.Driver == catalog.Postgres {
			other.cat = db.Open(t) // another node's handle
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, n := range []*env{e, &other} {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = n.transcoder().Pass(t.Context()) }()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if err := e.transcoder().Pass(t.Context()); err != nil { // whichever was locked out
			t.Fatal(err)
		}
		got, _ := e.cat.Get(t.Context(), rec.ID)
		keys := e.objects(t)
		if len(keys) != 2 || !slices.Contains(keys, got.ObjectKey) || !strings.HasSuffix(got.ObjectKey, ".opus") {
			t.Errorf("store holds %v, row names %s: want the manifest and the .opus", keys, got.ObjectKey)
		}
		if whole, _ := e.audio(t, got, 0, 1); sha(whole) != got.AudioSHA256 {
			t.Error("the stored audio does not match the catalog's checksum")
		}
		if n := len(transcodeEntries(t, e, rec.ID)); n != 1 || queued(t, e) != 0 {
			t.Errorf("got %d transcode entries and %d queued, want 1 and 0", n, queued(t, e))
		}
	})
}
