package catalog_test

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiroku-voice/kiroku/catalog"
)

// TestQuickCheck: a catalog file with 4 pages in its middle overwritten
// (the fault that left 4 recordings unreadable while the daemon started
// and verified) is found damaged; an intact one is not.
func TestQuickCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := catalog.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		if err := catalog.PutRecording(t.Context(), c.DB(), rec(i, "cs-quality", "0312345678")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.QuickCheck(t.Context()); err != nil {
		t.Fatalf("intact catalog: got %v, want nil", err)
	}
	if _, err := c.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	var pageSize, pages int64
	c.DB().QueryRow(`PRAGMA page_size`).Scan(&pageSize)
	c.DB().QueryRow(`PRAGMA page_count`).Scan(&pages)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if pages < 16 {
		t.Fatalf("got %d pages, want a catalog large enough to damage in its middle", pages)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 4*pageSize)
	rand.Read(junk)
	// The last pages are the recordings' (rows and indexes), written after
	// every migration made its tables: damage there leaves the schema whole.
	if _, err := f.WriteAt(junk, (pages-6)*pageSize); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	c, err = catalog.Open(t.Context(), path)
	if err != nil {
		// Damage that stops the file opening is found too, but is not
		// what this test is for.
		t.Fatalf("open of the damaged catalog: %v", err)
	}
	defer c.Close()
	if err := c.QuickCheck(t.Context()); !errors.Is(err, catalog.ErrCorrupt) {
		t.Fatalf("4 pages overwritten: got %v, want ErrCorrupt", err)
	}
}
