package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/fs"
)

// hangingStore answers nothing while hang is set: every operation, and
// every read of a body it gave, waits for its context.
type hangingStore struct {
	storage.Store
	hang bool
}

func (h *hangingStore) wait(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (h *hangingStore) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	rc, err := h.Store.Get(ctx, key, off, n)
	if err != nil {
		return nil, err
	}
	return &hangingBody{rc: rc, ctx: ctx, h: h}, nil
}

func (h *hangingStore) Stat(ctx context.Context, key string) (storage.Object, error) {
	if h.hang {
		return storage.Object{}, h.wait(ctx)
	}
	return h.Store.Stat(ctx, key)
}

func (h *hangingStore) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	return h.Store.List(ctx, prefix, func(o storage.Object) error {
		if h.hang {
			return h.wait(ctx)
		}
		return fn(o)
	})
}

type hangingBody struct {
	rc  io.ReadCloser
	ctx context.Context
	h   *hangingStore
}

func (b *hangingBody) Read(p []byte) (int, error) {
	if b.h.hang {
		return 0, b.h.wait(b.ctx)
	}
	return b.rc.Read(p)
}

func (b *hangingBody) Close() error { return b.rc.Close() }

func stallEnv(t *testing.T) (*hangingStore, storage.Store) {
	t.Helper()
	base, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a/1", "a/2", "a/3"} {
		data := strings.Repeat(k, 100)
		if _, err := base.Put(t.Context(), k, strings.NewReader(data), int64(len(data)), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h := &hangingStore{Store: base}
	return h, storage.Stalling(h, 200*time.Millisecond)
}

func wantStalled(t *testing.T, what string, err error, start time.Time) {
	t.Helper()
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "moved no bytes for 200ms") {
		t.Errorf("%s on a hung store: got %v, want it stalled, unavailable", what, err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("%s on a hung store failed after %s", what, took)
	}
}

// TestStallingHungStore: each operation on a store that stopped
// answering fails at the stall timeout as unavailable — a stat, a listing
// whose next object does not come, a read of a body already got.
func TestStallingHungStore(t *testing.T) {
	h, st := stallEnv(t)
	h.hang = true
	start := time.Now()
	_, err := st.Stat(t.Context(), "a/1")
	wantStalled(t, "Stat", err, start)

	start = time.Now()
	err = st.List(t.Context(), "a/", func(storage.Object) error { return nil })
	wantStalled(t, "List", err, start)

	h.hang = false
	rc, err := st.Get(t.Context(), "a/1", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h.hang = true
	start = time.Now()
	_, err = io.ReadAll(rc)
	wantStalled(t, "reading a body", err, start)
}

// TestStallingNotTheCallersTime: the caller's own time — before it reads
// a body it got, between reads, inside List's callback — is many times
// the stall timeout and fails nothing.
func TestStallingNotTheCallersTime(t *testing.T) {
	_, st := stallEnv(t)
	rc, err := st.Get(t.Context(), "a/2", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	p := make([]byte, 64)
	for {
		time.Sleep(300 * time.Millisecond) // a player paused
		n, err := rc.Read(p)
		got.Write(p[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read after a pause: %v", err)
		}
	}
	rc.Close()
	if got.String() != strings.Repeat("a/2", 100) {
		t.Errorf("got %d bytes, not the object", got.Len())
	}
	n := 0
	err = st.List(t.Context(), "a/", func(storage.Object) error {
		time.Sleep(300 * time.Millisecond) // a slow catalog behind the callback
		n++
		return nil
	})
	if err != nil || n != 3 {
		t.Errorf("List with a slow callback: %d objects, %v; want 3, nil", n, err)
	}
}

// TestStallingCheckDelegates: the wrapper keeps the wrapped store's
// Check (which the daemon looks for), and Unwrap gives the store back.
func TestStallingCheckDelegates(t *testing.T) {
	base, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := storage.Stalling(base, time.Second)
	if storage.Unwrap(st) != storage.Store(base) {
		t.Error("Unwrap does not give the wrapped store")
	}
	if storage.Stalling(st, time.Second) != st {
		t.Error("wrapping twice with the same timeout made a second wrapper")
	}
	if storage.Stalling(base, 0) != storage.Store(base) {
		t.Error("a zero timeout wrapped the store")
	}
	if _, ok := st.(interface{ Check(context.Context) error }); !ok {
		t.Error("the wrapper has no Check")
	}
}
