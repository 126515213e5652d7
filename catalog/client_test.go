package catalog

import (
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
