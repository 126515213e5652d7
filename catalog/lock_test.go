package catalog_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
)

// TestLockOneHolder: a lock has one holder at a time; on PostgreSQL
// across handles (nodes), and it comes free when its holder releases it,
// closes its catalog or loses its session.
func TestLockOneHolder(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		a, b := db.Open(t), db.Open(t)
		l, err := a.TryLock(t.Context(), "purge")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.TryLock(t.Context(), "purge"); !errors.Is(err, catalog.ErrLocked) {
			t.Errorf("second TryLock on the same handle: got %v, want ErrLocked", err)
		}
		other, err := a.TryLock(t.Context(), "other")
		if err != nil {
			t.Fatalf("a lock of another name: %v", err)
		}
		other.Release()
		if err := l.Check(t.Context()); err != nil {
			t.Errorf("check while held: %v", err)
		}
		lb, err := b.TryLock(t.Context(), "purge")
		if db.Driver == catalog.SQLite {
			// One process uses a SQLite file: the lock is the handle's.
			if err != nil {
				t.Fatalf("another handle on SQLite: got %v, want the lock", err)
			}
			lb.Release()
		} else if !errors.Is(err, catalog.ErrLocked) {
			t.Fatalf("another node: got %v, want ErrLocked", err)
		}
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		if err := l.Release(); err != nil {
			t.Errorf("second release: %v", err)
		}
		if err := l.Check(t.Context()); !errors.Is(err, catalog.ErrLockLost) && db.Driver == catalog.Postgres {
			t.Errorf("check after release: got %v, want ErrLockLost", err)
		}
		lb, err = b.TryLock(t.Context(), "purge")
		if err != nil {
			t.Fatalf("after release: %v", err)
		}
		// Closing the catalog releases what it holds.
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := lb.Check(t.Context()); db.Driver == catalog.Postgres && !errors.Is(err, catalog.ErrLockLost) {
			t.Errorf("check after close: got %v, want ErrLockLost", err)
		}
		la, err := a.TryLock(t.Context(), "purge")
		if err != nil {
			t.Fatalf("after the holder's catalog closed: %v", err)
		}
		la.Release()
	})
}

// TestLockSessionDies: on PostgreSQL, a holder whose session ends (its
// node died, or the server ended it) loses the lock: Check says so, and
// another node takes it.
func TestLockSessionDies(t *testing.T) {
	db := catalogtest.New(t, catalog.Postgres)
	a, b := db.Open(t), db.Open(t)
	l, err := a.TryLock(t.Context(), "purge")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if _, err := b.TryLock(t.Context(), "purge"); !errors.Is(err, catalog.ErrLocked) {
		t.Fatalf("got %v, want ErrLocked", err)
	}
	var n int
	err = b.DB().QueryRowContext(t.Context(), `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminated %d sessions holding advisory locks (%v), want 1", n, err)
	}
	if err := l.Check(t.Context()); !errors.Is(err, catalog.ErrLockLost) {
		t.Errorf("check after the session died: got %v, want ErrLockLost", err)
	}
	lb, err := b.TryLock(t.Context(), "purge")
	if err != nil {
		t.Fatalf("another node after the holder died: %v", err)
	}
	lb.Release()
}

// TestClaimRun: a scheduled run is claimed once, whichever node claims
// it; a later slot is claimed again, an earlier one never.
func TestClaimRun(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		a, b := db.Open(t), db.Open(t)
		slot := time.Date(2026, 11, 27, 3, 30, 0, 0, time.UTC)
		for _, tc := range []struct {
			name string
			c    *catalog.Catalog
			slot time.Time
			want bool
		}{
			{"first", a, slot, true},
			{"same slot, other node", b, slot, false},
			{"same slot, same node", a, slot, false},
			{"next slot, other node", b, slot.Add(time.Hour), true},
			{"an earlier slot", a, slot, false},
			{"another job", a, slot, true},
		} {
			name := "purge"
			if tc.name == "another job" {
				name = "other"
			}
			got, err := catalog.ClaimRun(t.Context(), tc.c.DB(), name, tc.slot, time.Now())
			if err != nil || got != tc.want {
				t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
			}
		}
	})
}
