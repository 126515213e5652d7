package catalog

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestContractEndSwap: an item changes state only from the state its
// writer read: a stale writer gets ErrItemChanged and changes nothing;
// a finished run is never replaced, so a second certification cannot
// overwrite the first one's certificate.
func TestContractEndSwap(t *testing.T) {
	eachDriver(t, func(t *testing.T, c *Catalog) {
		base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		put(t, c, base, Recording{Purpose: "a", Client: "acme", ObjectKey: "o0"})
		db := c.DB()
		run := &ContractEnd{ID: "r1", Client: "acme", TargetKind: "zip", State: "running", Operators: []string{"adm"}, StartedAt: base}
		if err := PutContractEnd(t.Context(), db, run); err != nil {
			t.Fatal(err)
		}
		if _, err := AddContractEndItems(t.Context(), db, "r1", "acme"); err != nil {
			t.Fatal(err)
		}
		read := func() *ContractEndItem {
			t.Helper()
			it, err := ContractEndItems(t.Context(), db, "r1", "", 10)
			if err != nil || len(it) != 1 {
				t.Fatalf("got %v %v", it, err)
			}
			return it[0]
		}
		a, b := read(), read() // two writers read it pending
		a.State = ItemShredded
		if err := SwapContractEndItem(t.Context(), db, a, ItemPending); err != nil {
			t.Fatalf("first writer: %v", err)
		}
		b.State, b.Error = ItemGone, "stale"
		if err := SwapContractEndItem(t.Context(), db, b, ItemPending); !errors.Is(err, ErrItemChanged) {
			t.Errorf("stale writer: got %v, want ErrItemChanged", err)
		}
		if got := read(); got.State != ItemShredded || got.Error != "" {
			t.Errorf("after the stale write: got %s %q, want shredded", got.State, got.Error)
		}

		now := base.Add(time.Hour)
		run.State, run.FinishedAt, run.LastSeq, run.Certificate = "done", &now, 7, []byte(`{"by":"a"}`)
		if err := PutContractEnd(t.Context(), db, run); err != nil {
			t.Fatal(err)
		}
		late := *run
		late.LastSeq, late.Certificate = 9, []byte(`{"by":"b"}`)
		if err := PutContractEnd(t.Context(), db, &late); !errors.Is(err, ErrRunFinished) {
			t.Errorf("second certification: got %v, want ErrRunFinished", err)
		}
		if g, err := GetContractEnd(t.Context(), db, "r1"); err != nil || g.LastSeq != 7 || string(g.Certificate) != `{"by":"a"}` {
			t.Errorf("got %+v %v, want the first certificate kept", g, err)
		}
	})
}

// TestContractEndStrays: the client's stored and restricted recordings
// that are not items of the run are found; items, other clients' and
// those being purged are not.
func TestContractEndStrays(t *testing.T) {
	eachDriver(t, func(t *testing.T, c *Catalog) {
		base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		ids := put(t, c, base, Recording{Purpose: "a", Client: "acme"}, Recording{Purpose: "a", Client: "globex"})
		db := c.DB()
		run := &ContractEnd{ID: "r1", Client: "acme", TargetKind: "zip", State: "running", StartedAt: base}
		if err := PutContractEnd(t.Context(), db, run); err != nil {
			t.Fatal(err)
		}
		if _, err := AddContractEndItems(t.Context(), db, "r1", "acme"); err != nil {
			t.Fatal(err)
		}
		if got, err := ContractEndStrays(t.Context(), db, "r1", "acme", 10); err != nil || len(got) != 0 {
			t.Fatalf("before: got %v %v, want none", got, err)
		}
		later := put(t, c, base.Add(time.Hour),
			Recording{ID: "0192f3e4-0000-7000-8000-000000000010", Purpose: "a", Client: "acme"},
			Recording{ID: "0192f3e4-0000-7000-8000-000000000011", Purpose: "a", Client: "acme", State: StateRestricted},
			Recording{ID: "0192f3e4-0000-7000-8000-000000000012", Purpose: "a", Client: "acme", State: StatePurging},
			Recording{ID: "0192f3e4-0000-7000-8000-000000000013", Purpose: "a", Client: "globex"})
		got, err := ContractEndStrays(t.Context(), db, "r1", "acme", 10)
		if want := later[:2]; err != nil || !slices.Equal(got, want) {
			t.Errorf("got %v %v, want %v (not %s, an item)", got, err, want, ids[0])
		}
		if got, _ := ContractEndStrays(t.Context(), db, "r1", "acme", 1); len(got) != 1 {
			t.Errorf("limit 1: got %v", got)
		}
	})
}
