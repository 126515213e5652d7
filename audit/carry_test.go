package audit_test

import (
	"path/filepath"
	"testing"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
)

// TestCarry: a backup's audit log copied into an empty catalog verifies
// there, with the same head, and what is appended after it chains on; a
// source that does not verify, or a target that is not empty, copies
// nothing.
func TestCarry(t *testing.T) {
	open := func(t *testing.T, name string) *catalog.Catalog {
		c, err := catalog.Open(t.Context(), filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	old, fresh := open(t, "backup.db"), open(t, "rebuilt.db")
	fill(t, old, 5)
	n, err := audit.Carry(t.Context(), old.DB(), fresh.DB())
	if err != nil || n != 5 {
		t.Fatalf("got %d carried, %v; want 5", n, err)
	}
	seqA, hashA, _ := audit.Head(t.Context(), old.DB())
	seqB, hashB, _ := audit.Head(t.Context(), fresh.DB())
	if seqA != seqB || hashA != hashB {
		t.Errorf("got head %d %s, want the backup's %d %s", seqB, hashB, seqA, hashA)
	}
	e, err := audit.Append(t.Context(), fresh.DB(), audit.Entry{Actor: "kirokud", Action: audit.ActionRebuild, Target: "rec-x"})
	if err != nil || e.Seq != 6 || e.PrevHash != hashA {
		t.Fatalf("got entry %d after %s (%v), want 6 chained onto the backup's head", e.Seq, e.PrevHash, err)
	}
	if n, err := audit.Verify(t.Context(), fresh.DB()); err != nil || n != 6 {
		t.Errorf("verify after carry: %d entries, %v; want 6", n, err)
	}

	if _, err := audit.Carry(t.Context(), old.DB(), fresh.DB()); err == nil {
		t.Error("carried into a catalog whose audit log is not empty")
	}
	broken, empty := open(t, "broken.db"), open(t, "empty.db")
	fill(t, broken, 3)
	broken.DB().Exec(`UPDATE audit SET reason = 'nothing to see' WHERE seq = 2`)
	if n, err := audit.Carry(t.Context(), broken.DB(), empty.DB()); err == nil || n != 0 {
		t.Errorf("a broken chain: got %d carried, %v; want refused", n, err)
	}
	if seq, _, _ := audit.Head(t.Context(), empty.DB()); seq != 0 {
		t.Errorf("a refused carry left %d entries", seq)
	}
}
