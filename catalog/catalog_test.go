package catalog_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
)

func TestMain(m *testing.M) { os.Exit(catalogtest.Main(m)) }

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func rec(i int, purpose, caller string) *catalog.Recording {
	return &catalog.Recording{ID: fmt.Sprintf("rec-%03d", i), StartedAt: t0.Add(time.Duration(i) * time.Minute),
		Caller: caller, Line: "0120000001", Purpose: purpose, Decision: "notified",
		RetainUntil: t0.Add(time.Duration(i) * time.Hour), State: catalog.StateStored, StoredAt: t0,
		WrappedKey: []byte{1, 2, 3}, KeyID: "k"}
}

func TestMigrations(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		c, err := db.TryOpen(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		c2, err := db.TryOpen(t.Context())
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		var n, last int
		if err := c2.DB().QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &last); err != nil || n != last || n < 4 {
			t.Errorf("got %d migrations recorded up to %d (%v), want each once", n, last, err)
		}
		c2.DB().Exec(`INSERT INTO schema_migrations (version) VALUES (999)`)
		c2.Close()
		if _, err := db.TryOpen(t.Context()); err == nil || !strings.Contains(err.Error(), "newer than this kirokud knows") {
			t.Errorf("a newer schema: got %v, want refused", err)
		}
	})
}

// TestMigrationsConcurrent: nodes starting together on one new database
// apply each migration once, and every one of them opens.
func TestMigrationsConcurrent(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		errs := make(chan error, 4)
		for range cap(errs) {
			go func() {
				c, err := db.TryOpen(t.Context())
				if err == nil {
					err = c.Close()
				}
				errs <- err
			}()
		}
		for range cap(errs) {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		var n, distinct, last int
		db.Open(t).DB().QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_migrations`).Scan(&n, &distinct, &last)
		if n != last || distinct != last {
			t.Errorf("got %d migration rows (%d distinct) up to %d, want each once", n, distinct, last)
		}
	})
}

func TestPutGetListSelect(t *testing.T) {
	catalogtest.Each(t, testPutGetListSelect)
}

func testPutGetListSelect(t *testing.T, db catalogtest.DB) {
	c := db.Open(t)
	for i := range 30 {
		caller := "0311111111"
		if i%3 == 0 {
			caller = "0322222222"
		}
		purpose := "a"
		if i%2 == 0 {
			purpose = "b"
		}
		if err := catalog.PutRecording(t.Context(), c.DB(), rec(i, purpose, caller)); err != nil {
			t.Fatal(err)
		}
	}
	// Upsert: the same id again replaces the stored fields, no second row.
	r := rec(5, "a", "0311111111")
	r.SHA256 = "abc"
	catalog.PutRecording(t.Context(), c.DB(), r)
	got, err := c.Get(t.Context(), "rec-005")
	if err != nil || got.SHA256 != "abc" || !bytes.Equal(got.WrappedKey, []byte{1, 2, 3}) || !got.StartedAt.Equal(r.StartedAt) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if n, _ := c.Count(t.Context()); n != 30 {
		t.Errorf("got %d rows, want 30", n)
	}
	if _, err := c.Get(t.Context(), "nope"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown id: got %v", err)
	}
	for _, tc := range []struct {
		name string
		f    catalog.Filter
		want int
	}{
		{"all", catalog.Filter{Limit: 1000}, 30},
		{"purpose", catalog.Filter{Purpose: "a", Limit: 1000}, 15},
		{"caller", catalog.Filter{Caller: "0322222222", Limit: 1000}, 10},
		{"time range", catalog.Filter{From: t0.Add(10 * time.Minute), To: t0.Add(20 * time.Minute), Limit: 1000}, 10},
		{"combined", catalog.Filter{Purpose: "b", Caller: "0322222222", Limit: 1000}, 5},
		{"limit", catalog.Filter{Limit: 7}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.List(t.Context(), tc.f)
			if err != nil || len(got) != tc.want {
				t.Fatalf("got %d, %v; want %d", len(got), err, tc.want)
			}
			for i := 1; i < len(got); i++ {
				if got[i].StartedAt.Before(got[i-1].StartedAt) {
					t.Fatal("not in time order")
				}
			}
		})
	}
	n := 0
	c.Select(t.Context(), catalog.Filter{Purpose: "b"}, func(b []*catalog.Recording) error { n += len(b); return nil })
	if n != 15 {
		t.Errorf("select: got %d, want 15", n)
	}
	counts, _ := c.PurposeCounts(t.Context())
	if counts["a"] != 15 || counts["b"] != 15 {
		t.Errorf("purpose counts: %v", counts)
	}
}

func TestExpiredHoldsAndTombstones(t *testing.T) {
	catalogtest.Each(t, testExpiredHoldsAndTombstones)
}

func testExpiredHoldsAndTombstones(t *testing.T, db catalogtest.DB) {
	c := db.Open(t)
	for i := range 10 {
		catalog.PutRecording(t.Context(), c.DB(), rec(i, "a", "0311111111"))
	}
	catalog.SetHold(t.Context(), c.DB(), true, "case 1", "rec-002")
	exp, err := c.Expired(t.Context(), t0.Add(4*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range exp {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "rec-000,rec-001,rec-003,rec-004" {
		t.Errorf("got expired %v, want the due ones except the held one, oldest first", ids)
	}
	catalog.SetState(t.Context(), c.DB(), catalog.StatePurging, "rec-000", "rec-001")
	err = c.Tx(t.Context(), func(tx *sql.Tx) error {
		ts, err := catalog.NewTombstoner(t.Context(), tx)
		if err != nil {
			return err
		}
		defer ts.Close()
		if deleted, err := ts.Tombstone(t.Context(), exp[0], t0.Add(5*time.Hour), "retention", "retention"); err != nil || !deleted {
			return fmt.Errorf("tombstone: %v, deleted %v", err, deleted)
		}
		// Again (another node's purge late on the same row): nothing to delete.
		if deleted, err := ts.Tombstone(t.Context(), exp[0], t0.Add(6*time.Hour), "retention", "retention"); err != nil || deleted {
			return fmt.Errorf("second tombstone: %v, deleted %v", err, deleted)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(t.Context(), "rec-000"); !errors.Is(err, catalog.ErrNotFound) {
		t.Error("row still there after its tombstone")
	}
	tomb, err := c.GetTombstone(t.Context(), "rec-000")
	if err != nil || tomb.Reason != "retention" || !tomb.DeletedAt.Equal(t0.Add(5*time.Hour)) {
		t.Fatalf("tombstone: %+v %v", tomb, err)
	}
	// A tombstone holds no caller number.
	rows, _ := c.DB().Query(`SELECT * FROM tombstones`)
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rows.Scan(ptrs...)
		if strings.Contains(fmt.Sprint(vals...), "0311111111") {
			t.Errorf("tombstone carries the caller number: %v", vals)
		}
	}
}

// TestMarkPurgingAndShred: what changed after Expired read the rows (a
// hold, a stop-of-use, a later retention date) keeps them from being
// marked; Shred reads the row in its transaction, leaves a held or
// vanished one alone and audits only what it destroyed.
func TestMarkPurgingAndShred(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		c := db.Open(t)
		ctx := t.Context()
		for i := range 5 {
			if err := catalog.PutRecording(ctx, c.DB(), rec(i, "a", "0311111111")); err != nil {
				t.Fatal(err)
			}
		}
		now := t0.Add(4 * time.Hour)
		exp, err := c.Expired(ctx, now, 100)
		if err != nil || len(exp) != 5 {
			t.Fatalf("expired: %d, %v; want 5", len(exp), err)
		}
		catalog.SetHold(ctx, c.DB(), true, "case 1", "rec-001")
		catalog.SetState(ctx, c.DB(), catalog.StateRestricted, "rec-002")
		catalog.SetRetainUntil(ctx, c.DB(), "rec-003", now.Add(time.Hour))
		var marked []*catalog.Recording
		err = c.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			marked, err = catalog.MarkPurging(ctx, tx, now, exp)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range marked {
			ids = append(ids, r.ID)
		}
		if strings.Join(ids, ",") != "rec-000,rec-004" {
			t.Errorf("got marked %v, want rec-000,rec-004", ids)
		}
		for id, want := range map[string]string{"rec-000": catalog.StatePurging, "rec-001": catalog.StateStored,
			"rec-002": catalog.StateRestricted, "rec-003": catalog.StateStored, "rec-004": catalog.StatePurging} {
			if r, err := c.Get(ctx, id); err != nil || r.State != want {
				t.Errorf("%s: got %+v, %v, want state %s", id, r, err, want)
			}
		}

		var audited []string
		err = c.Tx(ctx, func(tx *sql.Tx) error {
			ts, err := catalog.NewTombstoner(ctx, tx)
			if err != nil {
				return err
			}
			defer ts.Close()
			note := func(r *catalog.Recording) error { audited = append(audited, r.ID); return nil }
			for _, tc := range []struct {
				id   string
				want error
			}{{"rec-000", nil}, {"rec-001", catalog.ErrHeld}, {"rec-000", catalog.ErrNotFound}, {"rec-999", catalog.ErrNotFound}} {
				r, err := ts.Shred(ctx, tc.id, now, "retention", "retention", note)
				if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
					t.Errorf("shred %s: got %v, want %v", tc.id, err, tc.want)
				}
				if tc.want == catalog.ErrHeld && (r == nil || r.HoldReason != "case 1") {
					t.Errorf("shred %s: got row %+v, want the held row", tc.id, r)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(audited, ",") != "rec-000" {
			t.Errorf("got audited %v, want rec-000 once", audited)
		}
		if _, err := c.GetTombstone(ctx, "rec-000"); err != nil {
			t.Errorf("rec-000: no tombstone: %v", err)
		}
		if _, err := c.Get(ctx, "rec-001"); err != nil {
			t.Errorf("held rec-001: %v, want kept", err)
		}
	})
}

// TestSilentChannels keeps a recording's silent channels, and none for
// a recording with audio on both.
func TestSilentChannels(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		c := db.Open(t)
		for _, tc := range []struct {
			name string
			id   int
			want []string
		}{
			{"audio on both", 1, nil},
			{"caller silent", 2, []string{"caller"}},
			{"both silent", 3, []string{"caller", "agent"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := rec(tc.id, "a", "0311111111")
				r.SilentChannels = tc.want
				if err := catalog.PutRecording(t.Context(), c.DB(), r); err != nil {
					t.Fatal(err)
				}
				got, err := c.Get(t.Context(), r.ID)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got.SilentChannels) != fmt.Sprint(tc.want) || (tc.want == nil) != (got.SilentChannels == nil) {
					t.Errorf("got silent channels %q, want %q", got.SilentChannels, tc.want)
				}
			})
		}
	})
}

// TestCallerWithheld: the flag of a caller who withheld the number is
// kept and read back, in SQLite and PostgreSQL.
func TestCallerWithheld(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		c := db.Open(t)
		for i, withheld := range []bool{true, false} {
			r := rec(i, "cs", "0312345678")
			r.CallerWithheld = withheld
			if err := catalog.PutRecording(t.Context(), c.DB(), r); err != nil {
				t.Fatal(err)
			}
			got, err := c.Get(t.Context(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.CallerWithheld != withheld {
				t.Errorf("%s: got caller_withheld %v, want %v", r.ID, got.CallerWithheld, withheld)
			}
		}
	})
}
