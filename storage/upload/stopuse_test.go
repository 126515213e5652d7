package upload_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/storage"
)

// stopOnPut records a stop of use of number while the uploader is putting
// the stored manifest: before the transaction that indexes the recording.
type stopOnPut struct {
	storage.Store
	e      *env
	number string
	done   bool
}

func (s *stopOnPut) Put(ctx context.Context, key string, r io.Reader, size int64, o storage.PutOptions) (storage.Object, error) {
	obj, err := s.Store.Put(ctx, key, r, size, o)
	if err == nil && !s.done && strings.HasSuffix(key, ".json") {
		s.done = true
		err = catalog.AddStopUse(ctx, s.e.cat.DB(), catalog.NumberMAC(s.e.keys.AuditKey(), s.number), time.Now(), "req-race")
	}
	return obj, err
}

// TestStoppedBeforeStored: a recording whose caller asked to stop its use
// after the call began — here waiting in the spool while the store was
// down — is stored restricted, audited as restrict with the request by
// kirokud, and announces nothing: the recording.failed written while the
// store was down is dropped, and no recording.stored is written; so is
// one whose stop came while it was being put in the store. A stop
// lifted before the upload, or made before the call began, leaves the
// recording usable. The stop is kept across a restart (the ledger is in
// the catalog).
func TestStoppedBeforeStored(t *testing.T) {
	stop := func(t *testing.T, e *env, number string, at time.Time) {
		t.Helper()
		if err := catalog.AddStopUse(t.Context(), e.cat.DB(), catalog.NumberMAC(e.keys.AuditKey(), number), at, "req-stop"); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("store down, then back", func(t *testing.T) {
		e := newEnv(t, nil)
		up := e.store
		e.store = downStore{up}
		e.up = outboxUploader(e)
		m, _ := e.call(t, 8000)
		e.up.Pass(t.Context()) //nolint:errcheck // the store is down
		if types, _ := outboxTypes(t, e); strings.Join(types, ",") != "recording.failed" {
			t.Fatalf("got events %v while the store is down, want recording.failed", types)
		}
		stop(t, e, m.Caller, time.Now())
		e.store = up
		e.up = outboxUploader(e)
		if err := e.up.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantRestrictedQuietly(t, e, m.ID)
		es, err := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: m.ID, Action: string(audit.ActionRestrict)})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].Actor != "kirokud" || !strings.Contains(es[0].Detail, `"request":"req-stop"`) {
			t.Errorf("got restrict entries %+v, want one by kirokud naming req-stop", es)
		}
		if strings.Contains(es[0].Detail+es[0].Reason, m.Caller) {
			t.Errorf("restrict entry names the number: %+v", es[0])
		}
	})
	t.Run("a restart between the stop and the upload", func(t *testing.T) {
		catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
			e := newEnvOn(t, db, nil)
			m, _ := e.call(t, 8000)
			stop(t, e, m.Caller, time.Now())
			if err := e.cat.Close(); err != nil {
				t.Fatal(err)
			}
			e.cat = db.Open(t)
			e.up = outboxUploader(e)
			if err := e.up.Pass(t.Context()); err != nil {
				t.Fatal(err)
			}
			wantRestrictedQuietly(t, e, m.ID)
		})
	})
	t.Run("stopped during the upload", func(t *testing.T) {
		e := newEnv(t, nil)
		m, _ := e.call(t, 8000)
		e.store = &stopOnPut{Store: e.store, e: e, number: m.Caller}
		e.up = outboxUploader(e)
		if err := e.up.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantRestrictedQuietly(t, e, m.ID)
	})
	t.Run("stop lifted before the upload", func(t *testing.T) {
		e := newEnv(t, nil)
		e.up = outboxUploader(e)
		m, _ := e.call(t, 8000)
		stop(t, e, m.Caller, time.Now())
		if n, err := catalog.ResumeStopUses(t.Context(), e.cat.DB(), catalog.NumberMAC(e.keys.AuditKey(), m.Caller), time.Now()); err != nil || n != 1 {
			t.Fatalf("resume: %d, %v; want 1 stop lifted", n, err)
		}
		if err := e.up.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := state(t, e, m.ID); got != catalog.StateStored {
			t.Errorf("stored as %q after the stop was lifted, want %q", got, catalog.StateStored)
		}
		if types, _ := outboxTypes(t, e); len(types) == 0 {
			t.Error("no events about a usable recording")
		}
	})
	t.Run("a call begun after the stop", func(t *testing.T) {
		e := newEnv(t, nil)
		stop(t, e, "0312345678", time.Now().Add(-time.Hour))
		m, _ := e.call(t, 8000)
		if m.Caller != "0312345678" {
			t.Fatalf("the test's call is from %q", m.Caller)
		}
		if err := e.up.Pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := state(t, e, m.ID); got != catalog.StateStored {
			t.Errorf("stored as %q, want %q", got, catalog.StateStored)
		}
	})
}

// wantRestrictedQuietly: the recording id is stored restricted, and no
// event about it waits in the outbox.
func wantRestrictedQuietly(t *testing.T, e *env, id string) {
	t.Helper()
	if got := state(t, e, id); got != catalog.StateRestricted {
		t.Errorf("stored as %q, want %q", got, catalog.StateRestricted)
	}
	if types, _ := outboxTypes(t, e); len(types) != 0 {
		t.Errorf("got events %v about a restricted recording, want none", types)
	}
}

// state is the catalog state of recording id, which must be indexed.
func state(t *testing.T, e *env, id string) string {
	t.Helper()
	r, err := e.cat.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("recording %s not indexed: %v", id, err)
	}
	return r.State
}
