package audit_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
)

func openLog(t *testing.T, path string) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func fill(t *testing.T, c *catalog.Catalog, n int) {
	t.Helper()
	for i := range n {
		if _, err := audit.Append(t.Context(), c.DB(), audit.Entry{Actor: "tester", Action: "read", Target: "rec-" + string(rune('a'+i)), Reason: "coaching"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestChainContinuesAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	c := openLog(t, path)
	fill(t, c, 3)
	c.Close()
	c2 := openLog(t, path)
	e, err := audit.Append(t.Context(), c2.DB(), audit.Entry{Actor: "tester", Action: "store", Target: "rec-z"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 4 || e.PrevHash == audit.Genesis {
		t.Fatalf("got entry %d with prev %s, want 4 continuing the chain", e.Seq, e.PrevHash)
	}
	if n, err := audit.Verify(t.Context(), c2.DB()); err != nil || n != 4 {
		t.Fatalf("verify: %d entries, %v; want 4, nil", n, err)
	}
}

func TestVerifyCatchesTampering(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
		seq  int64
	}{
		{"edited", `UPDATE audit SET reason = 'nothing to see' WHERE seq = 3`, 3},
		{"deleted", `DELETE FROM audit WHERE seq = 2`, 2},
		{"reordered", `UPDATE audit SET seq = 100 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 100`, 2},
		{"last removed and rehashed edit", `UPDATE audit SET actor = 'someone', hash = 'x' WHERE seq = 5`, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := openLog(t, filepath.Join(t.TempDir(), "catalog.db"))
			fill(t, c, 5)
			if _, err := c.DB().ExecContext(t.Context(), tc.sql); err != nil {
				t.Fatal(err)
			}
			_, err := audit.Verify(t.Context(), c.DB())
			var be *audit.BrokenError
			if !errors.As(err, &be) || be.Seq != tc.seq {
				t.Fatalf("got %v, want the chain broken at %d", err, tc.seq)
			}
		})
	}
}

func TestCheckpointDetectsRewrite(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	c := openLog(t, filepath.Join(t.TempDir(), "catalog.db"))
	fill(t, c, 4)
	cp, err := audit.NewCheckpoint(t.Context(), c.DB(), key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.CheckCheckpoint(t.Context(), c.DB(), key, cp); err != nil {
		t.Fatalf("fresh checkpoint: %v", err)
	}
	// Rewrite the whole log consistently: Verify passes, the checkpoint does not.
	c.DB().ExecContext(context.Background(), `DELETE FROM audit`)
	fill(t, c, 4)
	c.DB().ExecContext(context.Background(), `DELETE FROM audit`)
	audit.Append(t.Context(), c.DB(), audit.Entry{Actor: "forger", Action: "read", Target: "x"})
	fill(t, c, 3)
	if _, err := audit.Verify(t.Context(), c.DB()); err != nil {
		t.Fatalf("rewritten chain should verify on its own: %v", err)
	}
	if err := audit.CheckCheckpoint(t.Context(), c.DB(), key, cp); !errors.Is(err, audit.ErrCheckpoint) {
		t.Fatalf("got %v, want the rewrite detected", err)
	}
	cp.Seq = 1
	if err := audit.CheckCheckpoint(t.Context(), c.DB(), key, cp); !errors.Is(err, audit.ErrCheckpoint) {
		t.Fatalf("got %v for an altered checkpoint, want a bad signature", err)
	}
}
