package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
)

func TestMain(m *testing.M) { os.Exit(catalogtest.Main(m)) }

func fill(t *testing.T, c *catalog.Catalog, n int) {
	t.Helper()
	for i := range n {
		if _, err := audit.Append(t.Context(), c.DB(), audit.Entry{Actor: "tester", Action: "read", Target: "rec-" + string(rune('a'+i)), Reason: "coaching"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestChainContinuesAcrossRestart(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		c := db.Open(t)
		fill(t, c, 3)
		c.Close()
		c2 := db.Open(t)
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
	})
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
			catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
				c := db.Open(t)
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
		})
	}
}

func TestCheckpointDetectsRewrite(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		key := []byte("0123456789abcdef0123456789abcdef")
		c := db.Open(t)
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
	})
}

// TestOneChainAcrossNodes: two catalog handles on one database, as two
// kirokud nodes have, append from many goroutines at once, the three
// ways the code does (Append in a transaction of the act, Append through
// the database, an Appender for a batch): the result is one chain with
// contiguous sequence numbers that verifies.
func TestOneChainAcrossNodes(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		nodes := []*catalog.Catalog{db.Open(t), db.Open(t)}
		const workers, each = 6, 10 // per node
		var wg sync.WaitGroup
		errs := make(chan error, len(nodes)*workers)
		for n, c := range nodes {
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						e := audit.Entry{Actor: fmt.Sprintf("node%d", n), Action: "read", Target: fmt.Sprintf("w%d-%d", w, i)}
						var err error
						switch w % 3 {
						case 0:
							err = c.Tx(t.Context(), func(tx *sql.Tx) error { _, err := audit.Append(t.Context(), tx, e); return err })
						case 1:
							_, err = audit.Append(t.Context(), c.DB(), e)
						case 2:
							err = c.Tx(t.Context(), func(tx *sql.Tx) error {
								app, err := audit.NewAppender(t.Context(), tx)
								if err != nil {
									return err
								}
								defer app.Close()
								for range 2 {
									if _, err := app.Append(t.Context(), e); err != nil {
										return err
									}
								}
								return nil
							})
						}
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		want := int64(len(nodes) * (workers*each + workers/3*each))
		n, err := audit.Verify(t.Context(), nodes[1].DB())
		if err != nil || n != want {
			t.Fatalf("verify: %d entries, %v; want %d, nil", n, err, want)
		}
	})
}

// TestReadsDoNotWaitForWriters: while a node holds a write transaction
// open (it has appended, not yet committed) and more writers than its
// connections queue behind it on both nodes, both nodes still read the
// log and the catalog at once, and see the head before that append.
func TestReadsDoNotWaitForWriters(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		a, b := db.Open(t), db.Open(t)
		fill(t, a, 2)
		appended, release := make(chan struct{}), make(chan struct{})
		const queued = 20 // more than a handle's connections
		done := make(chan error, 1+2*queued)
		write := func(c *catalog.Catalog, hold bool) error {
			return c.Tx(t.Context(), func(tx *sql.Tx) error {
				if _, err := audit.Append(t.Context(), tx, audit.Entry{Actor: "writer", Action: "store", Target: "x"}); err != nil {
					return err
				}
				if hold {
					close(appended)
					<-release
				}
				return nil
			})
		}
		go func() { done <- write(a, true) }()
		select {
		case <-appended:
		case err := <-done:
			t.Fatal(err)
		}
		var started sync.WaitGroup
		for _, c := range []*catalog.Catalog{a, b} {
			for range queued {
				started.Add(1)
				go func() {
					started.Done()
					done <- write(c, false)
				}()
			}
		}
		started.Wait()
		for _, c := range []*catalog.Catalog{a, b} {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			seq, _, err := audit.Head(ctx, c.DB())
			if err != nil || seq != 2 {
				t.Errorf("head while writes are open and queued: %d, %v; want 2 without waiting", seq, err)
			}
			if _, err := audit.List(ctx, c.DB(), audit.Filter{}); err != nil {
				t.Errorf("list while writes are open and queued: %v", err)
			}
			if _, err := c.List(ctx, catalog.Filter{}); err != nil {
				t.Errorf("catalog list while writes are open and queued: %v", err)
			}
			cancel()
		}
		close(release)
		for range 1 + 2*queued {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if n, err := audit.Verify(t.Context(), b.DB()); err != nil || n != 3+2*queued {
			t.Errorf("after the commits: %d entries, %v; want %d", n, err, 3+2*queued)
		}
	})
}
