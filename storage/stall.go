package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Stalling wraps st so that an operation the store makes no progress on
// for d fails, as ErrUnavailable, instead of waiting for as long as its
// context allows: a put whose body the store has stopped reading or
// whose answer does not come, a get, stat, delete, tag or hold not
// answered, a read of a got body that waits that long for bytes, a
// listing whose next page does not come. Time the caller spends
// elsewhere — not reading a body it got, inside List's callback — is not
// counted: a player paused or a slow catalog is not a hung store. The
// cancellation also stops the store client's own retries, which would
// otherwise go on for as long as the context lasts.
//
// A hung store (a network path black-holed, a server stopped) is then a
// failure counted within d, whatever the operation's overall bound. A
// store already wrapped is wrapped again with d; d <= 0 returns st.
func Stalling(st Store, d time.Duration) Store {
	if d <= 0 || st == nil {
		return st
	}
	if s, ok := st.(*stallStore); ok {
		if s.d == d {
			return s
		}
		st = s.Store
	}
	return &stallStore{Store: st, d: d}
}

// Unwrap returns the store Stalling wrapped (st itself if it did not).
func Unwrap(st Store) Store {
	if s, ok := st.(*stallStore); ok {
		return s.Store
	}
	return st
}

type stallStore struct {
	Store
	d time.Duration
}

// errStalled is the cause a stalled operation is cancelled with.
var errStalled = errors.New("stalled")

// watch cancels ctx once it has been armed for d without a resume.
type watch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	t      *time.Timer
	d      time.Duration
}

// watch returns a watch over ctx, armed.
func (s *stallStore) watch(ctx context.Context) *watch {
	w := &watch{d: s.d}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	w.t = time.AfterFunc(s.d, func() { w.cancel(errStalled) })
	return w
}

func (w *watch) pause()  { w.t.Stop() }
func (w *watch) resume() { w.t.Reset(w.d) }

func (w *watch) stalled() bool { return errors.Is(context.Cause(w.ctx), errStalled) }

func (w *watch) end() {
	w.t.Stop()
	w.cancel(nil)
}

// failed names a stall in err.
func (s *stallStore) failed(w *watch, op, key string, err error) error {
	if err == nil || !w.stalled() {
		return err
	}
	return fmt.Errorf("%w: %s %s: the store moved no bytes for %s: %w", ErrUnavailable, op, key, s.d, err)
}

func (s *stallStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (Object, error) {
	w := s.watch(ctx)
	defer w.end()
	var body io.Reader = tickReader{r: r, w: w}
	if rs, ok := r.(io.ReadSeeker); ok {
		// Kept seekable: the store client rewinds a body to retry.
		body = tickReadSeeker{tickReader{r: r, w: w}, rs}
	}
	o, err := s.Store.Put(w.ctx, key, body, size, opts)
	return o, s.failed(w, "put", key, err)
}

func (s *stallStore) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	w := s.watch(ctx)
	rc, err := s.Store.Get(w.ctx, key, offset, length)
	if err != nil {
		err = s.failed(w, "get", key, err)
		w.end()
		return nil, err
	}
	w.pause() // the caller's time until its first Read is its own
	return &watchedBody{rc: rc, w: w, s: s, key: key}, nil
}

func (s *stallStore) Stat(ctx context.Context, key string) (Object, error) {
	w := s.watch(ctx)
	defer w.end()
	o, err := s.Store.Stat(w.ctx, key)
	return o, s.failed(w, "stat", key, err)
}

func (s *stallStore) Delete(ctx context.Context, keys []string) []DeleteResult {
	w := s.watch(ctx)
	defer w.end()
	res := s.Store.Delete(w.ctx, keys)
	for i := range res {
		res[i].Err = s.failed(w, "delete", res[i].Key, res[i].Err)
	}
	return res
}

func (s *stallStore) List(ctx context.Context, prefix string, fn func(Object) error) error {
	w := s.watch(ctx)
	defer w.end()
	err := s.Store.List(w.ctx, prefix, func(o Object) error {
		w.pause() // fn's time is not the store's
		defer w.resume()
		return fn(o)
	})
	return s.failed(w, "list", prefix, err)
}

func (s *stallStore) SetTags(ctx context.Context, key string, tags map[string]string) error {
	w := s.watch(ctx)
	defer w.end()
	return s.failed(w, "set tags of", key, s.Store.SetTags(w.ctx, key, tags))
}

func (s *stallStore) SetLegalHold(ctx context.Context, key string, on bool) error {
	w := s.watch(ctx)
	defer w.end()
	return s.failed(w, "set legal hold of", key, s.Store.SetLegalHold(w.ctx, key, on))
}

// Check checks the wrapped store, if it has a check (S3: the bucket).
func (s *stallStore) Check(ctx context.Context) error {
	c, ok := s.Store.(interface{ Check(context.Context) error })
	if !ok {
		return nil
	}
	w := s.watch(ctx)
	defer w.end()
	return s.failed(w, "check", "the bucket", c.Check(w.ctx))
}

// watchedBody times each Read: one that waits d for bytes fails.
type watchedBody struct {
	rc  io.ReadCloser
	w   *watch
	s   *stallStore
	key string
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.w.resume()
	n, err := b.rc.Read(p)
	b.w.pause()
	if err != nil && err != io.EOF {
		err = b.s.failed(b.w, "read", b.key, err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.rc.Close()
	b.w.end()
	return err
}

// tickReader resumes w's clock whenever bytes are read from r.
type tickReader struct {
	r io.Reader
	w *watch
}

func (t tickReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.w.resume()
	}
	return n, err
}

type tickReadSeeker struct {
	tickReader
	s io.Seeker
}

func (t tickReadSeeker) Seek(off int64, whence int) (int64, error) { return t.s.Seek(off, whence) }
