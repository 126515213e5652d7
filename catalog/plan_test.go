package catalog_test

import (
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
)

// TestDueCountsHeldRows: the counts a purge plan and the rebuild's
// emptiness check read, on both drivers.
func TestDueCountsHeldRows(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		c := db.Open(t)
		if n, err := c.Rows(t.Context()); err != nil || n != 0 {
			t.Fatalf("new catalog: got %d rows, %v, want 0", n, err)
		}
		// rec i is due i hours after t0; started i minutes after it.
		for i := 1; i <= 4; i++ {
			r := rec(i, "a", "0311111111")
			if i == 4 {
				r.Purpose, r.Client = "a", "acme"
			}
			if err := catalog.PutRecording(t.Context(), c.DB(), r); err != nil {
				t.Fatal(err)
			}
		}
		if err := catalog.SetHold(t.Context(), c.DB(), true, "complaint", "rec-001"); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(2 * time.Hour) // rec-001 (held) and rec-002 are past their date
		got, err := c.DueCounts(t.Context(), now)
		if err != nil {
			t.Fatal(err)
		}
		oldest := t0.Add(time.Minute) // the held one is kept
		acmeOldest := t0.Add(4 * time.Minute)
		want := []catalog.DueCount{
			{Purpose: "a", Client: "", Stored: 3, Due: 1, Held: 1, OldestKept: &oldest},
			{Purpose: "a", Client: "acme", Stored: 1, Due: 0, Held: 0, OldestKept: &acmeOldest},
		}
		if len(got) != len(want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Purpose != w.Purpose || g.Client != w.Client || g.Stored != w.Stored || g.Due != w.Due || g.Held != w.Held ||
				g.OldestKept == nil || !g.OldestKept.Equal(*w.OldestKept) {
				t.Errorf("row %d: got %+v (oldest %v), want %+v (oldest %v)", i, g, g.OldestKept, w, *w.OldestKept)
			}
		}
		if n, err := c.HeldPastDate(t.Context(), now); err != nil || n != 1 {
			t.Errorf("held past their date: got %d, %v, want 1", n, err)
		}
		if n, err := c.Rows(t.Context()); err != nil || n != 4 {
			t.Errorf("got %d rows, %v, want 4", n, err)
		}
	})
}
