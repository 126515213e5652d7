package recording_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
)

// destruction is a test destruction by "officer", audited as an erasure.
func destruction() recording.Destruction {
	return recording.Destruction{At: time.Now().UTC(), Reason: "test", Actor: "officer",
		Entry: func(rec *catalog.Recording) audit.Entry {
			return audit.Entry{Actor: "officer", Action: audit.ActionErase, Target: rec.ID}
		}}
}

func (e *env) entries(t *testing.T, id string) int {
	t.Helper()
	es, err := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: id, Action: string(audit.ActionErase)})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// present reports whether rec's row, and each of its objects, are there.
func (e *env) present(t *testing.T, rec *catalog.Recording) (row bool, objects int) {
	t.Helper()
	_, err := e.cat.Get(t.Context(), rec.ID)
	row = err == nil
	for _, k := range recording.ObjectKeys(rec) {
		if _, err := e.store.Stat(t.Context(), k); err == nil {
			objects++
		}
	}
	return row, objects
}

// TestDestroy: rows become tombstones with one audit entry each, then
// their objects go; a held recording is untouched; a second destruction
// of the same finds them gone and audits nothing again.
func TestDestroy(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		e := newEnv(t, db)
		recs := e.stored(t, 3)
		held := recs[2]
		if err := catalog.SetHold(t.Context(), e.cat.DB(), true, "complaint", held.ID); err != nil {
			t.Fatal(err)
		}
		d := recording.NewDestroyer(e.cat, e.store)
		out, err := d.Destroy(t.Context(), recs, destruction())
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Destroyed) != 2 || len(out.Held) != 1 || out.Held[0].ID != held.ID || len(out.Gone) != 0 || len(out.Undeleted) != 0 {
			t.Fatalf("got %+v, want 2 destroyed and 1 held", out)
		}
		for _, r := range recs[:2] {
			if row, objs := e.present(t, r); row || objs != 0 {
				t.Errorf("%s: got row %v and %d objects, want neither", r.ID, row, objs)
			}
			ts, err := e.cat.GetTombstone(t.Context(), r.ID)
			if err != nil || ts.Reason != "test" || ts.Actor != "officer" {
				t.Errorf("%s: got tombstone %+v, %v", r.ID, ts, err)
			}
			if n := e.entries(t, r.ID); n != 1 {
				t.Errorf("%s: got %d audit entries, want 1", r.ID, n)
			}
		}
		if row, objs := e.present(t, held); !row || objs != 2 || e.entries(t, held.ID) != 0 {
			t.Errorf("held: got row %v, %d objects, want both kept and no entry", row, objs)
		}
		again, err := d.Destroy(t.Context(), recs, destruction())
		if err != nil || len(again.Destroyed) != 0 || len(again.Gone) != 2 || len(again.Held) != 1 {
			t.Fatalf("again: got %+v, %v, want 2 gone and 1 held", again, err)
		}
		for _, r := range recs[:2] {
			if n := e.entries(t, r.ID); n != 1 {
				t.Errorf("%s: got %d audit entries after a second destruction, want 1", r.ID, n)
			}
		}
		if _, err := audit.Verify(t.Context(), e.cat.DB()); err != nil {
			t.Error(err)
		}
	})
}

// refusingStore refuses to delete the keys in refuse, and every key when
// refuse is nil.
type refusingStore struct {
	storage.Store
	refuse map[string]bool
}

var errRefused = errors.New("refused")

func (s refusingStore) Delete(ctx context.Context, keys []string) []storage.DeleteResult {
	var pass []string
	for _, k := range keys {
		if s.refuse != nil && !s.refuse[k] {
			pass = append(pass, k)
		}
	}
	done := map[string]error{}
	for _, r := range s.Store.Delete(ctx, pass) {
		done[r.Key] = r.Err
	}
	out := make([]storage.DeleteResult, len(keys))
	for i, k := range keys {
		err, ok := done[k]
		if !ok {
			err = errRefused
		}
		out[i] = storage.DeleteResult{Key: k, Err: err}
	}
	return out
}

// TestDestroyObjectsFirst: with the objects deleted first, a recording
// whose objects the store refuses keeps its row, with no tombstone and no
// entry, and the Commit hook sees it refused in the transaction.
func TestDestroyObjectsFirst(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		e := newEnv(t, db)
		recs := e.stored(t, 2)
		locked := recs[0]
		how := destruction()
		how.ObjectsFirst = true
		var seen int
		how.Commit = func(_ context.Context, _ *sql.Tx, o *recording.Outcome) error {
			seen = len(o.Refused)
			return nil
		}
		d := recording.NewDestroyer(e.cat, refusingStore{e.store, map[string]bool{locked.ObjectKey: true}})
		out, err := d.Destroy(t.Context(), recs, how)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Destroyed) != 1 || out.Destroyed[0].ID != recs[1].ID || !errors.Is(out.Refused[locked.ID], errRefused) || seen != 1 {
			t.Fatalf("got %+v (commit saw %d refused), want one destroyed and the locked one refused", out, seen)
		}
		if row, objs := e.present(t, locked); !row || objs != 1 || e.entries(t, locked.ID) != 0 {
			t.Errorf("refused: got row %v and %d objects, want the row and its audio kept, unaudited", row, objs)
		}
		if _, err := e.cat.GetTombstone(t.Context(), locked.ID); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("refused: got tombstone error %v, want none", err)
		}
		if row, objs := e.present(t, recs[1]); row || objs != 0 || e.entries(t, recs[1].ID) != 1 {
			t.Errorf("destroyed: got row %v and %d objects", row, objs)
		}
	})
}

// TestDestroyFinishedLater: a store that keeps the objects after the
// commit (a crash, a store down) leaves them listed, unreadable; a later
// DeleteObjects finishes, and deleting what is gone already is no error.
func TestDestroyFinishedLater(t *testing.T) {
	e := newEnv(t, catalogtest.New(t, catalog.SQLite))
	recs := e.stored(t, 2)
	out, err := recording.NewDestroyer(e.cat, refusingStore{Store: e.store}).Destroy(t.Context(), recs, destruction())
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Destroyed) != 2 || len(out.Undeleted) != 4 {
		t.Fatalf("got %+v, want 2 destroyed and their 4 objects undeleted", out)
	}
	for _, r := range recs {
		if row, objs := e.present(t, r); row || objs != 2 {
			t.Errorf("%s: got row %v and %d objects, want no row and both objects", r.ID, row, objs)
		}
	}
	d := recording.NewDestroyer(e.cat, e.store)
	for i := range 2 {
		if u := d.DeleteObjects(t.Context(), out.Destroyed); len(u) != 0 {
			t.Fatalf("pass %d: got %+v undeleted, want none", i, u)
		}
	}
	for _, r := range recs {
		if _, objs := e.present(t, r); objs != 0 {
			t.Errorf("%s: %d objects left", r.ID, objs)
		}
	}
}
