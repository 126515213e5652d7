package catalog_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
)

// TestCompactPostgresIndex: erasing a few recordings of a large table
// leaves too few dead rows for plain VACUUM to clean the indexes
// (PostgreSQL 14 and later skip that below 2 % of the pages), so the
// caller number stayed in the caller index; Compact cleans them always.
// It reads the server's files, after a checkpoint, as an attacker with a
// copy of the data folder would.
func TestCompactPostgresIndex(t *testing.T) {
	c := catalogtest.New(t, catalog.Postgres).Open(t)
	ctx := t.Context()
	const erased = "0398765432"
	err := c.Tx(ctx, func(tx *sql.Tx) error {
		for i := range 20000 {
			r := rec(i, "a", "0311111111")
			r.ID = fmt.Sprintf("filler-%05d", i)
			if i < 3 {
				r.ID, r.Caller = fmt.Sprintf("erased-%d", i), erased
			}
			if err := catalog.PutRecording(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB().ExecContext(ctx, `VACUUM ANALYZE recordings`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := catalog.Tombstone(ctx, c.DB(), &catalog.Recording{ID: fmt.Sprintf("erased-%d", i), StartedAt: t0}, t0.Add(time.Hour), "erasure", "po"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	var dir string
	if err := c.DB().QueryRowContext(ctx, `SHOW data_directory`).Scan(&dir); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB().ExecContext(ctx, `CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"recordings", "recordings_caller_started_id"} {
		var p string
		if err := c.DB().QueryRowContext(ctx, `SELECT pg_relation_filepath($1)`, rel).Scan(&p); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatalf("cannot read the server's files (they are ours, or we are root): %v", err)
		}
		if bytes.Contains(b, []byte(erased)) {
			t.Errorf("%s still holds the erased caller number after Compact", rel)
		}
	}
}
