package upload_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// slowStore reads a put's body in pieces of at most piece bytes, waiting
// pause before each; with hang, it then never answers (until ctx ends),
// as a store that took the bytes and stopped.
type slowStore struct {
	storage.Store
	piece int
	pause time.Duration
	hang  bool
}

func (s *slowStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.Object, error) {
	var buf strings.Builder
	p := make([]byte, s.piece)
	for {
		select {
		case <-ctx.Done():
			return storage.Object{}, ctx.Err()
		case <-time.After(s.pause):
		}
		n, err := r.Read(p)
		buf.Write(p[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return storage.Object{}, err
		}
	}
	if s.hang {
		<-ctx.Done()
		return storage.Object{}, ctx.Err()
	}
	return s.Store.Put(ctx, key, strings.NewReader(buf.String()), size, opts)
}

func stallUploader(e *env, st storage.Store, stall time.Duration, failed *int) *upload.Uploader {
	return upload.New(upload.Options{Spool: e.spool, Store: st, Catalog: e.cat, Keys: e.keys,
		RetainUntil:    func(_, p string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
		AttemptTimeout: time.Hour, StallTimeout: stall, OnFailed: func() { *failed++ }})
}

// TestStallFailsHungPut: a store that took a put's bytes and never
// answers fails the attempt once StallTimeout passes with nothing moved,
// as an unavailable store, counted, though AttemptTimeout (an hour)
// would let it run on; the recording stays in the spool.
func TestStallFailsHungPut(t *testing.T) {
	e := newEnv(t, nil)
	e.call(t, 100)
	var failed int
	up := stallUploader(e, &slowStore{Store: e.store, piece: 1 << 20, hang: true}, 300*time.Millisecond, &failed)
	start := time.Now()
	err := up.Pass(t.Context())
	took := time.Since(start)
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "moved no bytes for 300ms") {
		t.Fatalf("Pass on a store that never answers: got %v, want it stalled, unavailable", err)
	}
	if took > 20*time.Second {
		t.Errorf("the stalled attempt took %s", took)
	}
	if failed != 1 || up.Stats().Failed != 1 {
		t.Errorf("got %d failures counted (stats %d), want 1", failed, up.Stats().Failed)
	}
	if n, _ := e.cat.Count(t.Context()); n != 0 {
		t.Errorf("got %d catalog rows, want 0", n)
	}
	if ms, _ := e.spool.Finished(nil); len(ms) != 1 {
		t.Errorf("got %d recordings in the spool, want 1 kept", len(ms))
	}
}

// TestStallNotForSlowProgress: a put that takes many times StallTimeout
// but keeps reading its body is not a stall: the recording is stored.
func TestStallNotForSlowProgress(t *testing.T) {
	e := newEnv(t, nil)
	e.call(t, 100) // 400 bytes of audio, sealed: read 64 bytes at a time
	var failed int
	up := stallUploader(e, &slowStore{Store: e.store, piece: 64, pause: 100 * time.Millisecond}, 400*time.Millisecond, &failed)
	start := time.Now()
	if err := up.Pass(t.Context()); err != nil {
		t.Fatalf("Pass on a slow store that keeps reading: %v", err)
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("the put took %s: not slow enough to test a stall of 400ms", took)
	}
	if n, _ := e.cat.Count(t.Context()); n != 1 || failed != 0 {
		t.Errorf("got %d catalog rows and %d failures, want 1 and 0", n, failed)
	}
}
