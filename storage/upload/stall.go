package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kiroku-voice/kiroku/storage"
)

// stallStore fails an operation of the store it wraps that moves no
// bytes for d: a put whose body the store has stopped reading, or whose
// answer does not come once it has read it all; a stat or delete that
// is not answered. An attempt on a hung store then fails, and is counted,
// within d of the hang, however long the attempt would be allowed to run
// (AttemptTimeout bounds the whole attempt, which for a long recording on
// a slow link must be minutes). Context cancellation also stops the
// store client's own retries, which would otherwise try again for as long
// as the attempt lasts.
type stallStore struct {
	storage.Store
	d time.Duration
}

// errStalled is the cause an operation is cancelled with.
var errStalled = errors.New("stalled")

// watch returns ctx cancelled once d passes without a call of tick, and
// stop, which ends the watch and reports whether it was the stall that
// cancelled ctx.
func (s stallStore) watch(ctx context.Context) (wctx context.Context, tick func(), stop func() bool) {
	wctx, cancel := context.WithCancelCause(ctx)
	t := time.AfterFunc(s.d, func() { cancel(errStalled) })
	tick = func() { t.Reset(s.d) }
	stop = func() bool {
		t.Stop()
		stalled := errors.Is(context.Cause(wctx), errStalled)
		cancel(nil)
		return stalled
	}
	return wctx, tick, stop
}

// stalled names the stall in err, as an unavailable store.
func (s stallStore) stalled(op, key string, err error) error {
	return fmt.Errorf("%w: %s %s: the store moved no bytes for %s: %w", storage.ErrUnavailable, op, key, s.d, err)
}

func (s stallStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.Object, error) {
	wctx, tick, stop := s.watch(ctx)
	var body io.Reader = tickReader{r: r, tick: tick}
	if rs, ok := r.(io.ReadSeeker); ok {
		// Kept seekable: the store client rewinds a body to retry.
		body = tickReadSeeker{tickReader{r: r, tick: tick}, rs}
	}
	o, err := s.Store.Put(wctx, key, body, size, opts)
	if stop() && err != nil {
		return o, s.stalled("put", key, err)
	}
	return o, err
}

func (s stallStore) Stat(ctx context.Context, key string) (storage.Object, error) {
	wctx, _, stop := s.watch(ctx)
	o, err := s.Store.Stat(wctx, key)
	if stop() && err != nil {
		return o, s.stalled("stat", key, err)
	}
	return o, err
}

func (s stallStore) Delete(ctx context.Context, keys []string) []storage.DeleteResult {
	wctx, _, stop := s.watch(ctx)
	res := s.Store.Delete(wctx, keys)
	if stop() {
		for i := range res {
			if res[i].Err != nil {
				res[i].Err = s.stalled("delete", res[i].Key, res[i].Err)
			}
		}
	}
	return res
}

// tickReader calls tick whenever bytes are read from r.
type tickReader struct {
	r    io.Reader
	tick func()
}

func (t tickReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.tick()
	}
	return n, err
}

type tickReadSeeker struct {
	tickReader
	s io.Seeker
}

func (t tickReadSeeker) Seek(off int64, whence int) (int64, error) { return t.s.Seek(off, whence) }
