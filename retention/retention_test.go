package retention_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/fs"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

var t0 = time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)

type env struct {
	cat   *catalog.Catalog
	store storage.Store
	spool *spool.Dir
	now   time.Time
	p     *retention.Purger
	srv   *s3test.Server
}

func TestMain(m *testing.M) { os.Exit(catalogtest.Main(m)) }

// backends runs f on each store with a SQLite catalog, and on the fs
// store with a PostgreSQL one; newEnv makes the test's environment.
func backends(t *testing.T, f func(t *testing.T, newEnv func(t *testing.T) *env)) {
	fsStore := func(t *testing.T) (storage.Store, *s3test.Server) {
		st, err := fs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st, nil
	}
	s3Store := func(t *testing.T) (storage.Store, *s3test.Server) {
		srv := s3test.StartWith(t, s3test.Options{ObjectLock: true})
		st, err := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region,
			AccessKey: srv.AccessKey, SecretKey: s3.Secret(srv.SecretKey), ObjectLock: true, LockMode: s3.Governance})
		if err != nil {
			t.Fatal(err)
		}
		return st, srv
	}
	for _, b := range []struct {
		name, driver string
		store        func(t *testing.T) (storage.Store, *s3test.Server)
	}{
		{"fs", catalog.SQLite, fsStore},
		{"s3", catalog.SQLite, s3Store},
		{"postgres", catalog.Postgres, fsStore},
	} {
		t.Run(b.name, func(t *testing.T) {
			f(t, func(t *testing.T) *env {
				st, srv := b.store(t)
				return newEnv(t, catalogtest.New(t, b.driver), st, srv)
			})
		})
	}
}

// onFS runs f on the fs store with each catalog driver.
func onFS(t *testing.T, f func(t *testing.T, e *env)) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		st, err := fs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		f(t, newEnv(t, db, st, nil))
	})
}

func newEnv(t *testing.T, db catalogtest.DB, st storage.Store, srv *s3test.Server) *env {
	t.Helper()
	sp, _ := spool.Open(filepath.Join(t.TempDir(), "spool"))
	e := &env{cat: db.Open(t), store: st, spool: sp, now: t0, srv: srv}
	e.p = e.purger(st)
	return e
}

func (e *env) purger(st storage.Store) *retention.Purger {
	return retention.New(retention.Options{Catalog: e.cat, Store: st, Spool: e.spool, Now: func() time.Time { return e.now },
		RetainUntil: func(_, p string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 7), true }})
}

// add stores a small recording (audio and manifest objects, catalog row).
func (e *env) add(t *testing.T, purpose, caller string, started time.Time, keep time.Duration) *catalog.Recording {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	base := fmt.Sprintf("%s/%s/%s", purpose, started.Format("2006/01/02"), id)
	r := &catalog.Recording{ID: id, StartedAt: started, Caller: caller, Line: "0120000001", Purpose: purpose,
		Decision: "notified", ObjectKey: base + ".wav", ManifestKey: base + ".json", RetainUntil: started.Add(keep),
		State: catalog.StateStored, StoredAt: started}
	for _, k := range []string{r.ObjectKey, r.ManifestKey} {
		if _, err := e.store.Put(t.Context(), k, bytes.NewReader([]byte("x")), 1, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := catalog.PutRecording(t.Context(), e.cat.DB(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) gone(t *testing.T, r *catalog.Recording) bool {
	t.Helper()
	_, errO := e.store.Stat(t.Context(), r.ObjectKey)
	_, errM := e.store.Stat(t.Context(), r.ManifestKey)
	_, errR := e.cat.Get(t.Context(), r.ID)
	_, errT := e.cat.GetTombstone(t.Context(), r.ID)
	deleted := errors.Is(errO, storage.ErrNotFound) && errors.Is(errM, storage.ErrNotFound) && errors.Is(errR, catalog.ErrNotFound)
	if deleted && errT != nil {
		t.Errorf("%s deleted without a tombstone", r.ID)
	}
	if !deleted && errT == nil {
		t.Errorf("%s has a tombstone but is still there", r.ID)
	}
	if deleted {
		es, _ := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: r.ID, Action: "delete"})
		if len(es) != 1 {
			t.Errorf("%s deleted with %d audit entries, want 1", r.ID, len(es))
		}
	}
	return deleted
}

func (e *env) purge(t *testing.T) retention.Result {
	t.Helper()
	res, err := e.p.Purge(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestPurgeByPurpose: two purposes with different limits, each deleted
// exactly when due and not before.
func TestPurgeByPurpose(t *testing.T) {
	backends(t, func(t *testing.T, newEnv func(t *testing.T) *env) {
		e := newEnv(t)
		week := e.add(t, "complaints", "0311111111", t0, 7*24*time.Hour)
		month := e.add(t, "cs-quality", "0311111111", t0, 30*24*time.Hour)
		e.now = t0.Add(7*24*time.Hour - time.Second)
		if res := e.purge(t); res.Deleted != 0 {
			t.Fatalf("deleted %d a second early", res.Deleted)
		}
		e.now = t0.Add(7 * 24 * time.Hour)
		if res := e.purge(t); res.Deleted != 1 || res.ByPurpose["complaints"] != 1 {
			t.Fatalf("got %+v, want the week-long one deleted", res)
		}
		if !e.gone(t, week) || e.gone(t, month) {
			t.Fatal("wrong recording deleted")
		}
		e.now = t0.Add(30 * 24 * time.Hour)
		e.purge(t)
		if !e.gone(t, month) {
			t.Fatal("month-long recording survived its date")
		}
		if n, err := audit.Verify(t.Context(), e.cat.DB()); err != nil || n != 2 {
			t.Errorf("audit: %d, %v", n, err)
		}
	})
}

// TestHoldWins: a held recording survives its date and goes on the first
// run after release; holds by caller number cover every recording of the
// number; on S3 with Object Lock the storage itself refuses the delete.
func TestHoldWins(t *testing.T) {
	backends(t, func(t *testing.T, newEnv func(t *testing.T) *env) {
		e := newEnv(t)
		srv := e.srv
		a := e.add(t, "cs-quality", "0311111111", t0, 24*time.Hour)
		b := e.add(t, "cs-quality", "0311111111", t0.Add(time.Hour), 24*time.Hour)
		c := e.add(t, "cs-quality", "0322222222", t0, 24*time.Hour)
		n, err := retention.SetHold(t.Context(), e.cat, e.store, retention.HoldRequest{Caller: "0311111111", On: true, Reason: "complaint 2026-17", Actor: "officer"})
		if err != nil || n != 2 {
			t.Fatalf("hold by caller: %d, %v; want 2", n, err)
		}
		if srv != nil {
			// The bucket refuses the delete on its own.
			if res := e.store.Delete(t.Context(), []string{a.ObjectKey}); !errors.Is(res[0].Err, storage.ErrLocked) {
				t.Errorf("S3 delete of a held object: got %v, want ErrLocked", res[0].Err)
			}
		}
		e.now = t0.Add(48 * time.Hour)
		res := e.purge(t)
		if res.Deleted != 1 || res.Held != 2 || e.gone(t, a) || e.gone(t, b) || !e.gone(t, c) {
			t.Fatalf("got %+v, want the unheld one deleted and 2 held", res)
		}
		if _, err := retention.SetHold(t.Context(), e.cat, e.store, retention.HoldRequest{IDs: []string{a.ID}, On: false, Reason: "closed", Actor: "officer"}); err != nil {
			t.Fatal(err)
		}
		e.purge(t)
		if !e.gone(t, a) || e.gone(t, b) {
			t.Fatal("release did not make exactly the released recording go")
		}
		es, _ := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: b.ID, Action: "hold"})
		if len(es) != 1 || es[0].Reason != "complaint 2026-17" || es[0].Actor != "officer" {
			t.Errorf("hold audit: %+v", es)
		}
	})
}

func TestHoldRequestChecked(t *testing.T) {
	st, _ := fs.New(t.TempDir())
	e := newEnv(t, catalogtest.New(t, catalog.SQLite), st, nil)
	for _, req := range []retention.HoldRequest{
		{Caller: "0311111111", On: true, Actor: "x"},
		{Caller: "0311111111", On: true, Reason: "x"},
		{On: true, Reason: "x", Actor: "y"},
	} {
		if _, err := retention.SetHold(t.Context(), e.cat, e.store, req); !errors.Is(err, retention.ErrHoldRequest) {
			t.Errorf("%+v: got %v, want ErrHoldRequest", req, err)
		}
	}
}

// TestPolicyChanges: a shorter limit applies to stored recordings at once
// (deleted on the next run); a longer one only with extend_existing.
func TestPolicyChanges(t *testing.T) {
	onFS(t, func(t *testing.T, e *env) {
		r := e.add(t, "cs-quality", "0311111111", t0, 90*24*time.Hour)
		p := func(ret string, extend bool) *config.Config {
			rr, err := config.ParseRetention(ret)
			if err != nil {
				t.Fatal(err)
			}
			return &config.Config{Purposes: []config.Purpose{{Name: "cs-quality", Retention: rr, ExtendExisting: extend}}}
		}
		n, err := retention.ApplyPolicy(t.Context(), e.cat, e.store, p("90d", false), p("7d", false), "reload")
		if err != nil || n != 1 {
			t.Fatalf("shorten: %d, %v", n, err)
		}
		obj, _ := e.store.Stat(t.Context(), r.ObjectKey)
		if obj.Tags["retain-until"] != t0.AddDate(0, 0, 7).Format("2006-01-02") {
			t.Errorf("tag after shortening: %v", obj.Tags)
		}
		if n, _ := retention.ApplyPolicy(t.Context(), e.cat, e.store, p("7d", false), p("30d", false), "reload"); n != 0 {
			t.Errorf("a longer limit without extend_existing changed %d recordings", n)
		}
		if n, _ := retention.ApplyPolicy(t.Context(), e.cat, e.store, p("30d", false), p("14d", true), "reload"); n != 1 {
			t.Errorf("extend_existing changed %d recordings, want 1", n)
		}
		got, _ := e.cat.Get(t.Context(), r.ID)
		if !got.RetainUntil.Equal(t0.AddDate(0, 0, 14)) {
			t.Errorf("got retain-until %v, want 14 days", got.RetainUntil)
		}
		e.now = t0.AddDate(0, 0, 15)
		e.purge(t)
		if !e.gone(t, r) {
			t.Error("not deleted after the changed date")
		}
		if es, _ := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: r.ID, Action: "retention-change"}); len(es) != 2 {
			t.Errorf("got %d retention-change entries, want 2", len(es))
		}
	})
}

// TestStoreFailingHalf: the store refuses half the deletes (S3 legal
// holds set behind Kiroku's back): the rest go, the refused stay whole
// (object, row, no tombstone) and go on a later run.
func TestStoreFailingHalf(t *testing.T) {
	srv := s3test.StartWith(t, s3test.Options{ObjectLock: true})
	st, err := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: s3.Secret(srv.SecretKey), ObjectLock: true, LockMode: s3.Governance})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, catalogtest.New(t, catalog.SQLite), st, srv)
	var recs []*catalog.Recording
	for i := range 10 {
		r := e.add(t, "cs-quality", "0311111111", t0, time.Hour)
		recs = append(recs, r)
		if i%2 == 0 {
			st.SetLegalHold(t.Context(), r.ObjectKey, true)
		}
	}
	e.now = t0.Add(2 * time.Hour)
	res := e.purge(t)
	if res.Deleted != 5 || res.Failed != 5 {
		t.Fatalf("got %+v, want 5 deleted and 5 failed", res)
	}
	for i, r := range recs {
		if e.gone(t, r) != (i%2 == 1) {
			t.Errorf("recording %d: wrong outcome", i)
		}
		if i%2 == 0 {
			got, err := e.cat.Get(t.Context(), r.ID)
			if err != nil || got.State != catalog.StateStored {
				t.Errorf("refused recording %d: %v state %v", i, err, got)
			}
			st.SetLegalHold(t.Context(), r.ObjectKey, false)
		}
	}
	if res := e.purge(t); res.Deleted != 5 || res.Failed != 0 {
		t.Fatalf("retry: got %+v, want the other 5 deleted", res)
	}
}

// crashStore deletes, then "dies" (cancels the purge) before the
// tombstones are written: the crash point of a kill -9 mid-purge.
type crashStore struct {
	storage.Store
	cancel context.CancelFunc
}

func (c crashStore) Delete(ctx context.Context, keys []string) []storage.DeleteResult {
	res := c.Store.Delete(context.WithoutCancel(ctx), keys)
	c.cancel()
	return res
}

func TestInterruptedPurgeResumes(t *testing.T) {
	onFS(t, func(t *testing.T, e *env) {
		var recs []*catalog.Recording
		for range 3 {
			recs = append(recs, e.add(t, "cs-quality", "0311111111", t0, time.Hour))
		}
		e.now = t0.Add(2 * time.Hour)
		ctx, cancel := context.WithCancel(t.Context())
		if _, err := e.purger(crashStore{e.store, cancel}).Purge(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want the purge cut short", err)
		}
		for _, r := range recs {
			got, err := e.cat.Get(t.Context(), r.ID)
			if err != nil || got.State != catalog.StatePurging {
				t.Fatalf("after the crash: %v %+v, want the row kept as purging", err, got)
			}
			if _, err := e.cat.GetTombstone(t.Context(), r.ID); err == nil {
				t.Fatal("tombstone written before the run finished")
			}
		}
		if res := e.purge(t); res.Deleted != 3 {
			t.Fatalf("resumed run: %+v", res)
		}
		for _, r := range recs {
			if !e.gone(t, r) {
				t.Errorf("%s not finished", r.ID)
			}
		}
		e.now = time.Now().Add(time.Hour)
		if o, _ := e.p.Orphans(t.Context(), 0, false); len(o) != 0 {
			t.Errorf("orphans after resume: %v", o)
		}
	})
}

// blockStore holds deletes until released, to keep a purge running.
type blockStore struct {
	storage.Store
	in, release chan struct{}
}

func (b blockStore) Delete(ctx context.Context, keys []string) []storage.DeleteResult {
	b.in <- struct{}{}
	<-b.release
	return b.Store.Delete(ctx, keys)
}

func TestPurgesNeverOverlap(t *testing.T) {
	onFS(t, func(t *testing.T, e *env) {
		e.add(t, "cs-quality", "0311111111", t0, time.Hour)
		e.now = t0.Add(2 * time.Hour)
		b := blockStore{e.store, make(chan struct{}), make(chan struct{})}
		p := e.purger(b)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); p.Purge(t.Context()) }()
		<-b.in
		if _, err := p.Purge(t.Context()); !errors.Is(err, retention.ErrBusy) {
			t.Errorf("second purge during the first: got %v, want ErrBusy", err)
		}
		close(b.release)
		wg.Wait()
	})
}

func TestPlanAndOrphans(t *testing.T) {
	onFS(t, func(t *testing.T, e *env) {
		e.add(t, "a", "0311111111", t0, time.Hour)
		h := e.add(t, "a", "0311111111", t0, time.Hour)
		e.add(t, "a", "0311111111", t0.Add(24*time.Hour), 30*24*time.Hour)
		e.add(t, "b", "0311111111", t0, 30*24*time.Hour)
		acme := e.add(t, "a", "0322222222", t0, time.Hour) // a client's line: its own row
		if _, err := e.cat.DB().ExecContext(t.Context(), `UPDATE recordings SET client = ? WHERE id = ?`, "acme", acme.ID); err != nil {
			t.Fatal(err)
		}
		retention.SetHold(t.Context(), e.cat, e.store, retention.HoldRequest{IDs: []string{h.ID}, On: true, Reason: "r", Actor: "o"})
		e.now = t0.Add(2 * time.Hour)
		plan, err := e.p.Plan(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(plan) != 3 || plan[0].Purpose != "a" || plan[0].Client != "" || plan[0].Due != 1 || plan[0].Held != 1 || plan[0].Stored != 3 ||
			plan[0].OldestKept == nil || !plan[0].OldestKept.Equal(t0) ||
			plan[1].Purpose != "a" || plan[1].Client != "acme" || plan[1].Stored != 1 || plan[1].Due != 1 || plan[1].OldestKept != nil ||
			plan[2].Purpose != "b" || plan[2].Due != 0 {
			t.Fatalf("got plan %+v", plan)
		}
		if n, _ := e.cat.Count(t.Context()); n != 5 {
			t.Error("plan deleted something")
		}
		e.store.Put(t.Context(), "a/2026/01/01/stray.wav", strings.NewReader("x"), 1, storage.PutOptions{})
		e.now = time.Now().Add(2 * time.Hour)
		if o, _ := e.p.Orphans(t.Context(), 24*time.Hour, false); len(o) != 0 {
			t.Errorf("an object younger than the grace period reported: %v", o)
		}
		o, err := e.p.Orphans(t.Context(), time.Hour, false)
		if err != nil || len(o) != 1 || o[0].Key != "a/2026/01/01/stray.wav" {
			t.Fatalf("orphans: %v %v", o, err)
		}
		if o, _ := e.p.Orphans(t.Context(), time.Hour, true); len(o) != 1 {
			t.Fatal("orphan not deleted")
		}
		if _, err := e.store.Stat(t.Context(), "a/2026/01/01/stray.wav"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("orphan still there: %v", err)
		}
	})
}

// TestOrphanSweepBounded: when most of the bucket has no catalog row the
// catalog is what is wrong, and the sweep deletes nothing.
func TestOrphanSweepBounded(t *testing.T) {
	onFS(t, func(t *testing.T, e *env) {
		e.add(t, "a", "0311111111", t0, time.Hour)
		for i := range 11 {
			e.store.Put(t.Context(), fmt.Sprintf("a/2026/01/01/stray-%d.wav", i), strings.NewReader("x"), 1, storage.PutOptions{})
		}
		e.now = time.Now().Add(2 * time.Hour)
		o, err := e.p.Orphans(t.Context(), time.Hour, true)
		if !errors.Is(err, retention.ErrTooManyOrphans) || len(o) != 11 {
			t.Fatalf("got %d orphans and %v, want 11 and ErrTooManyOrphans", len(o), err)
		}
		for i := range 11 {
			if _, err := e.store.Stat(t.Context(), fmt.Sprintf("a/2026/01/01/stray-%d.wav", i)); err != nil {
				t.Errorf("stray-%d deleted by a refused sweep: %v", i, err)
			}
		}
		// An operator who knows the catalog is right lifts the bound.
		o, err = e.p.Sweep(t.Context(), retention.Sweep{Grace: time.Hour, Remove: true, MaxShare: 1})
		if err != nil || len(o) != 11 {
			t.Fatalf("with the bound lifted: got %d orphans and %v, want 11 deleted", len(o), err)
		}
		for i := range 11 {
			if _, err := e.store.Stat(t.Context(), fmt.Sprintf("a/2026/01/01/stray-%d.wav", i)); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("stray-%d: got %v after a sweep with the bound lifted, want deleted", i, err)
			}
		}
	})
}

func TestRemovedPurposeRefused(t *testing.T) {
	onFS(t, func(t *testing.T, e *env) {
		e.add(t, "old-campaign", "0311111111", t0, time.Hour)
		err := retention.CheckPurposes(t.Context(), e.cat, []config.Purpose{{Name: "cs-quality"}})
		if err == nil || !strings.Contains(err.Error(), `purpose "old-campaign" was removed, but 1 recordings still carry it`) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestSpoolPastRetention(t *testing.T) {
	onFS(t, func(t *testing.T, e *env) {
		m := &spool.Manifest{ID: uuid.Must(uuid.NewV7()).String(), State: spool.StateDone, Purpose: "cs-quality", StartedAt: t0}
		e.spool.WriteManifest(m)
		e.now = t0.AddDate(0, 0, 8)
		if res := e.purge(t); res.Spool != 1 {
			t.Fatalf("got %+v, want the spooled call deleted", res)
		}
		if es, _ := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: m.ID}); len(es) != 1 {
			t.Errorf("spool deletion not audited")
		}
	})
}

// closingStore closes the catalog once the sweep has looked at its first
// object: the catalog goes away (a PostgreSQL restart, a dropped
// connection) in the middle of an orphan sweep.
type closingStore struct {
	storage.Store
	cat *catalog.Catalog
}

func (c closingStore) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	n := 0
	return c.Store.List(ctx, prefix, func(o storage.Object) error {
		if n++; n == 2 {
			c.cat.Close()
		}
		return fn(o)
	})
}

// TestOrphanSweepStopsOnCatalogError: a catalog that fails during the
// sweep is no proof that a recording has no row: the sweep stops with
// the error and deletes nothing, stored recordings and true orphans alike.
func TestOrphanSweepStopsOnCatalogError(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		st, err := fs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, db, st, nil)
		var recs []*catalog.Recording
		for range 3 {
			recs = append(recs, e.add(t, "cs-quality", "0311111111", t0, 30*24*time.Hour))
		}
		stray := "cs-quality/2026/12/31/stray.wav" // listed last
		e.store.Put(t.Context(), stray, strings.NewReader("x"), 1, storage.PutOptions{})
		e.now = time.Now().Add(2 * time.Hour)
		_, err = e.purger(closingStore{e.store, e.cat}).Orphans(t.Context(), time.Hour, true)
		if err == nil {
			t.Fatal("got no error from a sweep whose catalog closed, want the catalog's")
		}
		for _, k := range []string{stray, recs[0].ObjectKey, recs[0].ManifestKey, recs[1].ObjectKey, recs[1].ManifestKey,
			recs[2].ObjectKey, recs[2].ManifestKey} {
			if _, err := e.store.Stat(t.Context(), k); err != nil {
				t.Errorf("%s: got %v, want it kept", k, err)
			}
		}
		cat := db.Open(t)
		if es, _ := audit.List(t.Context(), cat.DB(), audit.Filter{Action: "delete-orphan"}); len(es) != 0 {
			t.Errorf("got %d delete-orphan entries, want none", len(es))
		}
	})
}

// TestHoldAfterReadKeeps: a legal hold set after the purge read the
// expired recordings (by an officer, or on another node) keeps the
// recording, and so does a stop-of-use then: a row is marked for
// deletion only if it is still unheld and in the state it was read in.
// The restricted one goes on the next run.
func TestHoldAfterReadKeeps(t *testing.T) {
	onFS(t, func(t *testing.T, e *env) {
		held := e.add(t, "cs-quality", "0311111111", t0, time.Hour)
		restricted := e.add(t, "cs-quality", "0322222222", t0, time.Hour)
		due := e.add(t, "cs-quality", "0333333333", t0, time.Hour)
		e.now = t0.Add(2 * time.Hour)
		var once sync.Once
		retention.SetAfterRead(e.p, func() {
			once.Do(func() {
				if _, err := retention.SetHold(t.Context(), e.cat, e.store, retention.HoldRequest{IDs: []string{held.ID},
					On: true, Reason: "complaint 2026-17", Actor: "officer"}); err != nil {
					t.Error(err)
				}
				if err := catalog.SetState(t.Context(), e.cat.DB(), catalog.StateRestricted, restricted.ID); err != nil {
					t.Error(err)
				}
			})
		})
		res := e.purge(t)
		if res.Deleted != 1 || res.Held != 1 {
			t.Errorf("got %+v, want 1 deleted and 1 held", res)
		}
		if e.gone(t, held) || e.gone(t, restricted) || !e.gone(t, due) {
			t.Fatal("want the held and the restricted kept, the other deleted")
		}
		for _, c := range []struct {
			r     *catalog.Recording
			state string
		}{{held, catalog.StateStored}, {restricted, catalog.StateRestricted}} {
			if got, err := e.cat.Get(t.Context(), c.r.ID); err != nil || got.State != c.state {
				t.Errorf("%s: got %+v, %v, want state %s", c.r.ID, got, err, c.state)
			}
		}
		if res := e.purge(t); res.Deleted != 1 || !e.gone(t, restricted) || e.gone(t, held) {
			t.Errorf("next run: got %+v, want the restricted one deleted and the held one kept", res)
		}
	})
}

// holdingStore sets a legal hold on a recording when the purge deletes
// its objects: a hold that comes after the row was marked purging.
type holdingStore struct {
	storage.Store
	hold func()
}

func (h holdingStore) Delete(ctx context.Context, keys []string) []storage.DeleteResult {
	h.hold()
	return h.Store.Delete(ctx, keys)
}

// TestHoldDuringPurgeKeepsRow: a hold set once the purge has marked the
// row (its objects are being deleted) comes too late for the objects on
// a store without Object Lock, but the row stays, held, with no
// tombstone and no delete entry.
func TestHoldDuringPurgeKeepsRow(t *testing.T) {
	onFS(t, func(t *testing.T, e *env) {
		r := e.add(t, "cs-quality", "0311111111", t0, time.Hour)
		e.now = t0.Add(2 * time.Hour)
		p := e.purger(holdingStore{e.store, func() {
			if _, err := retention.SetHold(t.Context(), e.cat, e.store, retention.HoldRequest{IDs: []string{r.ID},
				On: true, Reason: "complaint 2026-17", Actor: "officer"}); err != nil {
				t.Error(err)
			}
		}})
		res, err := p.Purge(t.Context())
		if err != nil || res.Deleted != 0 || res.Held != 1 {
			t.Fatalf("got %+v, %v, want nothing deleted and 1 held", res, err)
		}
		got, err := e.cat.Get(t.Context(), r.ID)
		if err != nil || !got.LegalHold || got.State != catalog.StatePurging {
			t.Errorf("got %+v, %v, want the row kept, held, purging", got, err)
		}
		if _, err := e.cat.GetTombstone(t.Context(), r.ID); err == nil {
			t.Error("tombstone written for a held recording")
		}
		if es, _ := audit.List(t.Context(), e.cat.DB(), audit.Filter{Target: r.ID, Action: "delete"}); len(es) != 0 {
			t.Errorf("got %d delete entries, want none", len(es))
		}
	})
}
