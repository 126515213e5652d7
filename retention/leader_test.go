package retention_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/fs"
)

// TestOnePurgeAcrossNodes: two nodes share a PostgreSQL catalog and a
// store, each with its own spool. Purges started on both at once: one
// runs, the other is skipped (ErrElsewhere) but for its own spool. The
// node running it then dies (its lock session ends) mid-run: it stops
// before writing anything more, and the other node's next run takes the
// lock and finishes the work, each recording deleted and audited once.
func TestOnePurgeAcrossNodes(t *testing.T) {
	db := catalogtest.New(t, catalog.Postgres)
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	nodes := []*env{newEnv(t, db, st, nil), newEnv(t, db, st, nil)}
	var recs []*catalog.Recording
	for range 3 {
		recs = append(recs, nodes[0].add(t, "cs-quality", "0311111111", t0, time.Hour))
	}
	for _, n := range nodes {
		n.now = t0.AddDate(0, 0, 8)
		// A call each node spooled and never stored, past its date.
		n.spool.WriteManifest(&spool.Manifest{ID: uuid.Must(uuid.NewV7()).String(), State: spool.StateDone, Purpose: "cs-quality", StartedAt: t0})
	}
	type outcome struct {
		node int
		res  retention.Result
		err  error
	}
	blocks := make([]blockStore, len(nodes))
	done := make(chan outcome, len(nodes))
	for i, n := range nodes {
		blocks[i] = blockStore{n.store, make(chan struct{}), make(chan struct{})}
		p := retention.New(retention.Options{Catalog: n.cat, Store: blocks[i], Spool: n.spool, Batch: 1,
			Now: func() time.Time { return n.now }, RetainUntil: func(string, string, time.Time) (time.Time, bool) { return t0.AddDate(0, 0, 7), true }})
		go func() {
			res, err := p.Purge(t.Context())
			done <- outcome{i, res, err}
		}()
	}
	// One node reaches its first delete; the other returns, skipped.
	leader, skipped := -1, (*outcome)(nil)
	for leader < 0 {
		select {
		case <-blocks[0].in:
			leader = 0
		case <-blocks[1].in:
			leader = 1
		case o := <-done:
			if skipped != nil {
				t.Fatalf("both nodes returned: %+v, %+v", *skipped, o)
			}
			skipped = &o
		}
	}
	if skipped == nil {
		o := <-done
		skipped = &o
	}
	if skipped.node == leader || !errors.Is(skipped.err, retention.ErrElsewhere) || skipped.res.Deleted != 0 || skipped.res.Spool != 1 {
		t.Fatalf("node %d: got %+v, %v; want skipped with ErrElsewhere, its own spool purged", skipped.node, skipped.res, skipped.err)
	}
	// The leader dies mid-purge: its database session ends.
	var n int
	err = nodes[1-leader].cat.DB().QueryRowContext(t.Context(), `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminated %d lock sessions (%v), want the leader's", n, err)
	}
	close(blocks[leader].release)
	lost := <-done
	if !errors.Is(lost.err, catalog.ErrLockLost) || lost.res.Deleted != 0 {
		t.Fatalf("leader after losing its lock: %+v, %v; want it stopped with ErrLockLost, nothing deleted", lost.res, lost.err)
	}
	// The other node's next run takes over and finishes.
	close(blocks[1-leader].release)
	go func() { // let its deletes through
		for range blocks[1-leader].in {
		}
	}()
	p := retention.New(retention.Options{Catalog: nodes[1-leader].cat, Store: blocks[1-leader], Spool: nodes[1-leader].spool,
		Now: func() time.Time { return nodes[1-leader].now }, RetainUntil: func(string, string, time.Time) (time.Time, bool) { return t0.AddDate(0, 0, 7), true }})
	res, err := p.Purge(t.Context())
	if err != nil || res.Deleted != 3 {
		t.Fatalf("takeover: %+v, %v; want the 3 recordings deleted", res, err)
	}
	close(blocks[1-leader].in)
	for _, r := range recs {
		if !nodes[0].gone(t, r) {
			t.Errorf("%s not deleted", r.ID)
		}
		if _, err := st.Stat(t.Context(), r.ObjectKey); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: object still stored (%v)", r.ID, err)
		}
	}
	// 3 deletes and the skipped node's spooled call; the dead leader's
	// spooled call goes on its own next run.
	if n, err := audit.Verify(t.Context(), nodes[0].cat.DB()); err != nil || n != 4 {
		t.Errorf("audit: %d entries, %v; want 4 and a whole chain", n, err)
	}
}

// TestScheduledPurgeRunsOnce: a schedule fires on every node; the first
// node to take the lock runs that activation's purge, the others skip it
// even after it ended, and the next activation runs again.
func TestScheduledPurgeRunsOnce(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		st, err := fs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		a, b := newEnv(t, db, st, nil), newEnv(t, db, st, nil)
		r := a.add(t, "cs-quality", "0311111111", t0, time.Hour)
		a.now, b.now = t0.Add(2*time.Hour), t0.Add(2*time.Hour)
		slot := t0.Add(2 * time.Hour).Truncate(time.Hour)
		for _, tc := range []struct {
			name    string
			e       *env
			slot    time.Time
			deleted int
			err     error
		}{
			{"first node", a, slot, 1, nil},
			{"second node, same activation", b, slot, 0, retention.ErrElsewhere},
			{"first node again", a, slot, 0, retention.ErrElsewhere},
			{"second node, next activation", b, slot.Add(time.Hour), 0, nil},
		} {
			res, err := tc.e.p.PurgeScheduled(t.Context(), tc.slot)
			if err != tc.err || res.Deleted != tc.deleted { //nolint:errorlint // exactly ErrElsewhere: its spool purge failed otherwise
				t.Errorf("%s: got %+v, %v; want %d deleted, %v", tc.name, res, err, tc.deleted, tc.err)
			}
		}
		if !a.gone(t, r) {
			t.Error("not deleted")
		}
		// A purge asked for now (the control API) is not tied to a slot.
		if _, err := a.p.Purge(t.Context()); err != nil {
			t.Errorf("purge now: %v", err)
		}
	})
}
