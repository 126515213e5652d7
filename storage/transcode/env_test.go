package transcode_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
	"github.com/kiroku-voice/kiroku/storage/fs"
	"github.com/kiroku-voice/kiroku/storage/transcode"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

func TestMain(m *testing.M) { os.Exit(catalogtest.Main(m)) }

// env is a spool, a store, a catalog and the uploader that stores
// opus and flac purposes' recordings cheap first, as the daemon does
// with transcoder.defer_backlog 0.
type env struct {
	spool *spool.Dir
	store *hookStore
	cat   *catalog.Catalog
	keys  *crypt.Keyring
	up    *upload.Uploader
	tmp   string
}

func newEnv(t *testing.T, format audiofile.Format) *env { return newEnvB(t, format) }

func newEnvB(t testing.TB, format audiofile.Format) *env {
	t.Helper()
	return newEnvOn(t, catalogtest.New(t, catalog.SQLite), format)
}

func newEnvOn(t testing.TB, db catalogtest.DB, format audiofile.Format) *env {
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
	e := &env{spool: sp, store: &hookStore{Store: st}, cat: db.Open(t), keys: keys,
		tmp: filepath.Join(dir, "tmp")}
	os.Mkdir(e.tmp, 0o700)
	e.up = upload.New(upload.Options{Spool: sp, Store: e.store, Catalog: e.cat, Keys: keys,
		RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
		AudioFormat: func(string) (audiofile.Format, int, bool) { return format, 0, true },
		Defer:       func(audiofile.Format, int) bool { return true }})
	return e
}

func (e *env) transcoder() *transcode.Transcoder { return e.transcoderAt(time.Now) }

func (e *env) transcoderAt(now func() time.Time) *transcode.Transcoder {
	return transcode.New(transcode.Options{Catalog: e.cat, Store: e.store, Keys: e.keys,
		TempDir: e.tmp, Share: 1, Now: now})
}

// store leaves a stored recording of pcm (interleaved stereo, passed
// through μ-law as the wire carried it) and returns its row.
func (e *env) store1(t testing.TB, pcm []int16) *catalog.Recording { return e.storeAt(t, pcm, 8000) }

// storeAt is store1 of a recording at rate Hz.
func (e *env) storeAt(t testing.TB, pcm []int16, rate int) *catalog.Recording {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC()
	for i, v := range pcm {
		pcm[i] = media.DecodeULaw(media.EncodeULaw(v))
	}
	path := e.spool.RecordingPath(id)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := wav.NewWriter(f, rate, 2)
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, _ := os.ReadFile(path)
	m := &spool.Manifest{ID: id, State: spool.StateSpooled, Caller: "0312345678", Dialled: "0120000001", Line: "0120000001",
		Purpose: "cs-quality", StartedAt: now, EndedAt: &now, Consent: spool.Consent{Decision: spool.Notified},
		Recording: &spool.Recording{File: id + ".wav", Format: spool.RecordingFormatAt(rate), Duration: float64(len(pcm)/2) / float64(rate),
			Size: int64(len(data)), SHA256: sha(data),
			Channels: []spool.ChannelStats{{Side: "caller", Codec: "PCMU"}, {Side: "agent", Codec: "PCMU"}}}}
	if err := e.spool.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, err := e.cat.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// audio returns rec's stored audio, decrypted, and its bytes off..off+n.
func (e *env) audio(t *testing.T, rec *catalog.Recording, off, n int64) (whole, part []byte) {
	t.Helper()
	r, err := recording.OpenAudio(t.Context(), e.store, e.keys, rec)
	if err != nil {
		t.Fatal(err)
	}
	var w, p bytes.Buffer
	if err := r.WriteRange(&w, 0, r.Size()); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteRange(&p, off, n); err != nil {
		t.Fatal(err)
	}
	return w.Bytes(), p.Bytes()
}

// objects lists the store's keys, sorted.
func (e *env) objects(t *testing.T) []string {
	t.Helper()
	var keys []string
	err := e.store.List(t.Context(), "", func(o storage.Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// hookStore is a store whose Put and Delete call a hook first (a crash
// or an erasure at a chosen step).
type hookStore struct {
	storage.Store
	mu       sync.Mutex
	onPut    func(ctx context.Context, key string) error
	afterPut func(ctx context.Context, key string) error
}

func (s *hookStore) hooks() (func(context.Context, string) error, func(context.Context, string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.onPut, s.afterPut
}

func (s *hookStore) set(before, after func(context.Context, string) error) {
	s.mu.Lock()
	s.onPut, s.afterPut = before, after
	s.mu.Unlock()
}

func (s *hookStore) Put(ctx context.Context, key string, r io.Reader, size int64, o storage.PutOptions) (storage.Object, error) {
	before, after := s.hooks()
	if before != nil {
		if err := before(ctx, key); err != nil {
			return storage.Object{}, err
		}
	}
	obj, err := s.Store.Put(ctx, key, r, size, o)
	if err == nil && after != nil {
		err = after(ctx, key)
	}
	return obj, err
}

// call is interleaved stereo of n frames: speech (when given, else a
// 300 Hz tone) then a 440 Hz tone on the caller's channel, the speech
// over the first half; a 1 kHz tone on the agent's.
func call(n int, speech ...int16) []int16 {
	pcm := make([]int16, 2*n)
	for i := range n {
		x := float64(i) / 8000
		var l int16
		switch {
		case i < n/2 && i < len(speech):
			l = speech[i]
		case i < n/2:
			l = int16(8000 * math.Sin(2*math.Pi*300*x))
		default:
			l = int16(8000 * math.Sin(2*math.Pi*440*x))
		}
		pcm[2*i], pcm[2*i+1] = l, int16(8000*math.Sin(2*math.Pi*1000*x))
	}
	return pcm
}

func goertzel(x []int16, hz float64) float64 {
	k := 2 * math.Cos(2*math.Pi*hz/8000)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + k*s1 - s2
		s2, s1 = s1, s
	}
	return (s1*s1 + s2*s2 - k*s1*s2) / float64(len(x)*len(x))
}

func channel(pcm []int16, c int) []int16 {
	out := make([]int16, len(pcm)/2)
	for i := range out {
		out[i] = pcm[2*i+c]
	}
	return out
}

func correlation(a, b []int16) float64 {
	n := min(len(a), len(b))
	var ab, aa, bb float64
	for i := range n {
		x, y := float64(a[i]), float64(b[i])
		ab, aa, bb = ab+x*y, aa+x*x, bb+y*y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

func hasSuffix(keys []string, suffix string) int {
	n := 0
	for _, k := range keys {
		if strings.HasSuffix(k, suffix) {
			n++
		}
	}
	return n
}
