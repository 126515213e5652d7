package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSearchScopes: scopes keep each set of clients to its own purposes,
// the recordings of no client are "" in a scope, and a client filter
// reads the client index in page order.
func TestSearchScopes(t *testing.T) {
	eachDriver(t, testSearchScopes)
}

func testSearchScopes(t *testing.T, c *Catalog) {
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	ids := put(t, c, base,
		Recording{Purpose: "a", Client: "acme"},
		Recording{Purpose: "b", Client: "acme"},
		Recording{Purpose: "a", Client: "globex"},
		Recording{Purpose: "a"},
		Recording{Purpose: "a", Client: "acme", State: StateRestricted},
	)
	for _, tc := range []struct {
		name string
		s    Search
		want []string
	}{
		{"no scopes: lines of no client only", Search{Visible: []string{"a", "b"}}, []string{ids[3]}},
		{"acme, purpose a", Search{Scopes: []Scope{{Clients: []string{"acme"}, Visible: []string{"a"}}}}, []string{ids[0]}},
		{"acme and globex", Search{Scopes: []Scope{{Clients: []string{"acme", "globex"}, Visible: []string{"a", "b"}}}}, []string{ids[0], ids[1], ids[2]}},
		{"two scopes", Search{Scopes: []Scope{{Clients: []string{"acme"}, Visible: []string{"b"}}, {Clients: []string{""}, Visible: []string{"a"}}}}, []string{ids[1], ids[3]}},
		{"restricted of acme", Search{Scopes: []Scope{{Clients: []string{"acme"}, Visible: []string{"a"}, Restricted: []string{"a"}}}}, []string{ids[0], ids[4]}},
		{"client filter", Search{Client: "globex", Scopes: []Scope{{Clients: []string{"acme", "globex"}, Visible: []string{"a"}}}}, []string{ids[2]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Limit = 100
			got, err := c.Search(t.Context(), tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if g := idsOf(got); !slices.Equal(g, tc.want) {
				t.Errorf("got %v, want %v", g, tc.want)
			}
		})
	}
	if _, err := c.Search(t.Context(), Search{Scopes: []Scope{{Visible: []string{"a"}}}, Limit: 1}); err == nil {
		t.Error("a scope without clients was accepted")
	}
	if c.Driver() != SQLite {
		return // the plan is SQLite's (see TestSearchPlans)
	}
	plan := c.explain(t.Context(), t, Search{Client: "acme", Desc: true, Limit: 51,
		Scopes: []Scope{{Clients: []string{"acme", "globex"}, Visible: []string{"a", "b"}}}})
	if !strings.Contains(plan, "recordings_client_started_id") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("plan:\n%s\nwant recordings_client_started_id and no temporary B-tree", plan)
	}
}

// TestContractEndTables: one unfinished run per client; items added
// once, paged and counted by state.
func TestContractEndTables(t *testing.T) {
	eachDriver(t, testContractEndTables)
}

func testContractEndTables(t *testing.T, c *Catalog) {
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	ids := put(t, c, base, Recording{Purpose: "a", Client: "acme", ObjectKey: "k1"}, Recording{Purpose: "a", Client: "acme"},
		Recording{Purpose: "a", Client: "globex"}, Recording{Purpose: "a", Client: "acme", State: StatePurging})
	db := c.DB()
	run := &ContractEnd{ID: "r1", Client: "acme", TargetKind: "zip", State: "running", Operators: []string{"adm"}, StartedAt: base}
	if err := PutContractEnd(t.Context(), db, run); err != nil {
		t.Fatal(err)
	}
	if err := PutContractEnd(t.Context(), db, &ContractEnd{ID: "r2", Client: "acme", TargetKind: "zip", State: "running", StartedAt: base}); err == nil {
		t.Error("a second unfinished run of acme was accepted")
	}
	if n, err := AddContractEndItems(t.Context(), db, "r1", "acme"); err != nil || n != 2 {
		t.Fatalf("added %d %v, want acme's 2 stored recordings", n, err)
	}
	if n, _ := AddContractEndItems(t.Context(), db, "r1", "acme"); n != 0 {
		t.Errorf("added %d again, want 0", n)
	}
	it, err := ContractEndItems(t.Context(), db, "r1", "", 10, ItemPending)
	if err != nil || len(it) != 2 || it[0].Recording != ids[0] || it[0].ObjectKey != "k1" {
		t.Fatalf("got %+v %v", it, err)
	}
	now := base.Add(time.Hour)
	it[0].State, it[0].VerifiedAt, it[0].AudioSHA256 = ItemVerified, &now, "ab"
	if err := PutContractEndItem(t.Context(), db, it[0]); err != nil {
		t.Fatal(err)
	}
	counts, _ := ContractEndCounts(t.Context(), db, "r1")
	if counts[ItemPending] != 1 || counts[ItemVerified] != 1 {
		t.Errorf("got counts %v", counts)
	}
	open, err := OpenContractEnd(t.Context(), db, "acme")
	if err != nil || open.ID != "r1" || open.Operators[0] != "adm" {
		t.Errorf("open run: %+v %v", open, err)
	}
	run.FinishedAt = &now
	if err := PutContractEnd(t.Context(), db, run); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenContractEnd(t.Context(), db, "acme"); err == nil {
		t.Error("a finished run is still open")
	}
	sum, err := SummariseClient(t.Context(), db, "acme")
	if err != nil || sum.Recordings != 2 || sum.WithAudio != 1 || !sum.First.Equal(base) {
		t.Errorf("summary %+v %v", sum, err)
	}
}

// TestClientSummary: a contract end's figures count stored and
// restricted recordings of the client only, with audio, restricted and
// held apart, their sealed bytes (a sum beyond 32 bits) and first and
// last start times; a client with nothing gives zeros and no times.
func TestClientSummary(t *testing.T) {
	eachDriver(t, func(t *testing.T, c *Catalog) {
		base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		put(t, c, base,
			Recording{Purpose: "a", Client: "acme", ObjectKey: "k0", Size: 3 << 30},
			Recording{Purpose: "a", Client: "acme", ObjectKey: "k1", Size: 2 << 30, LegalHold: true, HoldReason: "x"},
			Recording{Purpose: "a", Client: "acme", ObjectKey: "k2", Size: 5, State: StateRestricted},
			Recording{Purpose: "a", Client: "acme"},
			Recording{Purpose: "a", Client: "acme", ObjectKey: "k4", Size: 7, State: StatePurging},
			Recording{Purpose: "a", Client: "globex", ObjectKey: "k5", Size: 11},
			Recording{Purpose: "a", ObjectKey: "k6", Size: 13},
		)
		s, err := SummariseClient(t.Context(), c.DB(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%d %d %d %d %d %v %v", s.Recordings, s.WithAudio, s.Restricted, s.Held, s.Bytes, s.First, s.Last)
		want := fmt.Sprintf("%d %d %d %d %d %v %v", 4, 3, 1, 1, int64(5<<30+5), base, base.Add(3*time.Second))
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
		s, err = SummariseClient(t.Context(), c.DB(), "initech")
		if err != nil || s.Recordings != 0 || s.Bytes != 0 || s.First != nil || s.Last != nil {
			t.Errorf("a client with nothing: got %+v %v", s, err)
		}
	})
}

// TestContractEndItemsRoundTrip: every field of an item and of a run
// comes back as written; items page in id order after a cursor and by
// state; runs list oldest first.
func TestContractEndItemsRoundTrip(t *testing.T) {
	eachDriver(t, func(t *testing.T, c *Catalog) {
		base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		ids := put(t, c, base, Recording{Purpose: "a", Client: "acme", ObjectKey: "o0", ManifestKey: "m0"},
			Recording{Purpose: "a", Client: "acme", ObjectKey: "o1"}, Recording{Purpose: "a", Client: "acme", ObjectKey: "o2"})
		db := c.DB()
		old := &ContractEnd{ID: "r0", Client: "globex", TargetKind: "zip", State: "done", Operators: []string{"adm"},
			StartedAt: base.Add(-time.Hour), FinishedAt: &base, FirstSeq: 1, LastSeq: 9, Certificate: []byte(`{"n":1}`)}
		run := &ContractEnd{ID: "r1", Client: "acme", TargetKind: "s3", TargetBucket: "b", TargetPrefix: "p", State: "running",
			Operators: []string{"adm", "adm2"}, StartedAt: base, FirstSeq: 10}
		for _, r := range []*ContractEnd{run, old} {
			if err := PutContractEnd(t.Context(), db, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := AddContractEndItems(t.Context(), db, "r1", "acme"); err != nil {
			t.Fatal(err)
		}
		it, err := ContractEndItems(t.Context(), db, "r1", "", 10)
		if err != nil || len(it) != 3 {
			t.Fatalf("got %d items, %v", len(it), err)
		}
		v, d := base.Add(time.Minute), base.Add(2*time.Minute)
		*it[1] = ContractEndItem{Run: "r1", Recording: ids[1], StartedAt: it[1].StartedAt, ObjectKey: "o1", State: ItemHeld,
			Held: true, HoldReason: "court", AudioFile: "a.wav", AudioSHA256: "aa", ManifestFile: "m.json", ManifestSHA256: "mm",
			Error: "e", VerifiedAt: &v, DestroyedAt: &d}
		if err := PutContractEndItem(t.Context(), db, it[1]); err != nil {
			t.Fatal(err)
		}
		got, err := ContractEndItems(t.Context(), db, "r1", ids[0], 10, ItemHeld, ItemVerified)
		if err != nil || len(got) != 1 || fmt.Sprintf("%+v", *got[0]) != fmt.Sprintf("%+v", *it[1]) {
			t.Fatalf("got %+v %v, want %+v", got, err, it[1])
		}
		if got, _ := ContractEndItems(t.Context(), db, "r1", ids[1], 1); len(got) != 1 || got[0].Recording != ids[2] || got[0].State != ItemPending {
			t.Errorf("page of one after %s: got %+v, want %s pending", ids[1], got, ids[2])
		}
		if it[0].ManifestKey != "m0" || !it[0].StartedAt.Equal(base) || it[0].Held || it[0].VerifiedAt != nil {
			t.Errorf("pending item: got %+v", it[0])
		}
		runs, err := ListContractEnds(t.Context(), db)
		if err != nil || len(runs) != 2 || runs[0].ID != "r0" || runs[1].ID != "r1" {
			t.Fatalf("runs: %v %v", runs, err)
		}
		if g := runs[0]; !g.FinishedAt.Equal(base) || g.LastSeq != 9 || string(g.Certificate) != `{"n":1}` {
			t.Errorf("finished run: got %+v", g)
		}
		g, err := GetContractEnd(t.Context(), db, "r1")
		if err != nil || g.TargetBucket != "b" || g.TargetPrefix != "p" || len(g.Operators) != 2 || g.FinishedAt != nil || g.Certificate != nil {
			t.Errorf("running run: got %+v %v", g, err)
		}
		if _, err := GetContractEnd(t.Context(), db, "nope"); !errors.Is(err, ErrNoRun) {
			t.Errorf("unknown run: got %v, want ErrNoRun", err)
		}
	})
}

// TestClientCountsAndClientOf: recordings are counted per client (none
// for the recordings of no client), and a recording's client is found
// from its row and, once deleted, from its tombstone.
func TestClientCountsAndClientOf(t *testing.T) {
	eachDriver(t, func(t *testing.T, c *Catalog) {
		base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		ids := put(t, c, base, Recording{Purpose: "a", Client: "acme"}, Recording{Purpose: "a", Client: "acme"},
			Recording{Purpose: "a", Client: "globex"}, Recording{Purpose: "a"})
		gone, err := c.Get(t.Context(), ids[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := Tombstone(t.Context(), c.DB(), gone, base, "erasure", "po"); err != nil {
			t.Fatal(err)
		}
		counts, err := c.ClientCounts(t.Context())
		if err != nil || len(counts) != 2 || counts["acme"] != 1 || counts["globex"] != 1 {
			t.Errorf("got counts %v %v", counts, err)
		}
		for _, tc := range []struct {
			id, client string
			ok         bool
		}{{ids[0], "acme", true}, {ids[1], "acme", true}, {ids[2], "globex", true}, {ids[3], "", true}, {"nope", "", false}} {
			cl, ok, err := ClientOf(t.Context(), c.DB(), tc.id)
			if err != nil || cl != tc.client || ok != tc.ok {
				t.Errorf("ClientOf(%s): got %q %v %v, want %q %v", tc.id, cl, ok, err, tc.client, tc.ok)
			}
		}
		tomb, err := c.GetTombstone(t.Context(), ids[1])
		if err != nil || tomb.Client != "acme" || tomb.Reason != "erasure" {
			t.Errorf("tombstone: got %+v %v", tomb, err)
		}
	})
}
