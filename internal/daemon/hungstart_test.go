package daemon

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/storage"
)

// withStoreWrap puts w's store between the daemon and its own.
func withStoreWrap(w func(storage.Store) storage.Store) Option {
	return func(d *Daemon) { d.wrapStore = w }
}

// listHang is a store that answers its check and hangs every listing
// until its caller gives up, while hang is set.
type listHang struct {
	storage.Store
	hang  atomic.Bool
	lists atomic.Int32
}

func (s *listHang) Check(context.Context) error { return nil }

func (s *listHang) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	s.lists.Add(1)
	if s.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Store.List(ctx, prefix, fn)
}

// TestStartStoreHangsAfterCheck: a store that answers its check and then
// hangs does not hold up the start: New returns within the continuity
// check's time limit, calls are taken, the orphan sweep stays off, and
// the continuity is checked in the background once the store answers. A
// start whose context ends meanwhile (SIGTERM) returns at once.
func TestStartStoreHangsAfterCheck(t *testing.T) {
	defer func(c, e time.Duration) { continuityTimeout, storeCheckEvery = c, e }(continuityTimeout, storeCheckEvery)
	continuityTimeout, storeCheckEvery = time.Second, 200*time.Millisecond

	dir := t.TempDir()
	writeNotice(t, dir)
	path := writeConfig(t, dir, "90d", "")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st := &listHang{}
	st.hang.Store(true)
	wrap := withStoreWrap(func(inner storage.Store) storage.Store { st.Store = inner; return st })

	// SIGTERM during the check: New gives up at once with the reason.
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	began := time.Now()
	if d, err := New(ctx, cfg, path, zaptest.NewLogger(t), wrap); err == nil {
		closeBuilt(d)
		t.Fatal("got a daemon from a start cancelled during its continuity check, want the cancellation")
	} else if took := time.Since(began); took > 900*time.Millisecond {
		t.Errorf("a cancelled start took %v, want it to end with its context (~200ms)", took)
	}

	began = time.Now()
	d, err := New(t.Context(), cfg, path, zaptest.NewLogger(t), wrap)
	if err != nil {
		t.Fatalf("start over a store hung after its check: %v", err)
	}
	t.Cleanup(func() { d.Stop(context.Background()) })
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("New took %v over a hung store, want about the %v limit", took, continuityTimeout)
	}
	if d.continuous.Load() || d.mayDeleteOrphans() {
		t.Error("the catalog is taken as continuous although the store never answered the check")
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	call(t, d, time.Second)
	waitFor(t, "the call's recording in the spool or stored", func() bool { return spooledOrStored(t, d) })
	time.Sleep(3 * storeCheckEvery)
	if d.continuous.Load() {
		t.Fatal("continuity taken as checked while the store still hangs")
	}
	before := st.lists.Load()
	st.hang.Store(false)
	waitFor(t, "continuity checked once the store answers", func() bool { return d.continuous.Load() })
	if st.lists.Load() == before {
		t.Error("continuity taken as checked without listing the store")
	}
}

// spooledOrStored reports whether d has a recording stored or waiting.
func spooledOrStored(t *testing.T, d *Daemon) bool {
	t.Helper()
	if len(stored(t, d)) > 0 {
		return true
	}
	fin, err := d.spool.Finished(nil)
	return err == nil && len(fin) > 0
}
