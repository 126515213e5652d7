package upload_test

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/storage"
)

// downStore refuses every write: the store is down.
type downStore struct{ storage.Store }

func (downStore) Put(context.Context, string, io.Reader, int64, storage.PutOptions) (storage.Object, error) {
	return storage.Object{}, errors.New("connection refused")
}

// eraseOnPut records an erasure of number while the uploader is putting
// the stored manifest: after its first look at the ledger, before the
// transaction that would index the recording.
type eraseOnPut struct {
	storage.Store
	e      *env
	number string
	done   bool
}

func (s *eraseOnPut) Put(ctx context.Context, key string, r io.Reader, size int64, o storage.PutOptions) (storage.Object, error) {
	obj, err := s.Store.Put(ctx, key, r, size, o)
	if err == nil && !s.done && strings.HasSuffix(key, ".json") {
		s.done = true
		err = catalog.AddErasure(ctx, s.e.cat.DB(), catalog.NumberMAC(s.e.keys.AuditKey(), s.number), time.Now(), "req-race")
	}
	return obj, err
}

// TestErasedBeforeStored: a recording whose caller was erased after its
// call began — waiting in the spool with the store down, or caught by an
// erasure between the uploader's first look and its transaction — is
// destroyed instead of being stored: no catalog row, nothing left in the
// store or the spool, one erase entry naming the request and no number.
// A call from the same number begun after the erasure is stored as usual.
func TestErasedBeforeStored(t *testing.T) {
	t.Run("store down", func(t *testing.T) {
		e := newEnv(t, nil)
		e.store = downStore{e.store}
		e.up = e.uploader(e.keys)
		m, _ := e.call(t, 8000)
		if err := catalog.AddErasure(t.Context(), e.cat.DB(), catalog.NumberMAC(e.keys.AuditKey(), m.Caller), time.Now(), "req-1"); err != nil {
			t.Fatal(err)
		}
		e.up.Pass(t.Context()) //nolint:errcheck // the store is down: nothing else may be stored
		checkErased(t, e, m.ID, "req-1")
	})
	t.Run("erased during the upload", func(t *testing.T) {
		e := newEnv(t, nil)
		m, _ := e.call(t, 8000)
		e.store = &eraseOnPut{Store: e.store, e: e, number: m.Caller}
		e.up = e.uploader(e.keys)
		e.up.Pass(t.Context()) //nolint:errcheck // checked below
		checkErased(t, e, m.ID, "req-race")
		n := 0
		e.store.List(t.Context(), "", func(o storage.Object) error { n++; return nil }) //nolint:errcheck
		if n != 0 {
			t.Errorf("%d objects left in the store, want the attempt's deleted", n)
		}
	})
	t.Run("a later call is stored", func(t *testing.T) {
		e := newEnv(t, nil)
		if err := catalog.AddErasure(t.Context(), e.cat.DB(), catalog.NumberMAC(e.keys.AuditKey(), "0312345678"), time.Now().Add(-time.Hour), "req-old"); err != nil {
			t.Fatal(err)
		}
		m, _ := e.call(t, 8000)
		if err := e.up.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cat.Get(t.Context(), m.ID); err != nil {
			t.Fatalf("a call begun after the erasure: %v, want it stored", err)
		}
	})
}

func checkErased(t *testing.T, e *env, id, request string) {
	t.Helper()
	if r, err := e.cat.Get(t.Context(), id); err == nil {
		t.Fatalf("erased recording indexed: %+v", r)
	}
	if _, err := os.Stat(e.spool.ManifestPath(id)); !os.IsNotExist(err) {
		t.Errorf("spool manifest: %v, want removed", err)
	}
	if _, err := os.Stat(e.spool.SealedPath(id)); !os.IsNotExist(err) {
		t.Errorf("spool audio: %v, want removed", err)
	}
	es, err := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Action != audit.ActionErase || !strings.Contains(es[0].Reason, request) || strings.Contains(es[0].Detail+es[0].Reason, "0312345678") {
		t.Errorf("audit %+v, want one erase entry naming %s and no number", es, request)
	}
}
