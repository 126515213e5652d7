package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/pgtest"
)

func openTest(t *testing.T) *Catalog {
	t.Helper()
	c, err := Open(t.Context(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// eachDriver runs f as a subtest per driver on a new catalog: what
// catalogtest.Each does for other packages (these tests are inside
// package catalog, which catalogtest imports).
func eachDriver(t *testing.T, f func(t *testing.T, c *Catalog)) {
	t.Run(SQLite, func(t *testing.T) { f(t, openTest(t)) })
	t.Run(Postgres, func(t *testing.T) {
		c, err := OpenPostgres(t.Context(), pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		f(t, c)
	})
}

// put stores recordings a0… with the given purposes, one second apart,
// and returns their ids in time order.
func put(t *testing.T, c *Catalog, base time.Time, rows ...Recording) []string {
	t.Helper()
	var ids []string
	for i, r := range rows {
		if r.ID == "" {
			r.ID = fmt.Sprintf("0192f3e4-0000-7000-8000-%012d", i)
		}
		if r.StartedAt.IsZero() {
			r.StartedAt = base.Add(time.Duration(i) * time.Second)
		}
		if r.State == "" {
			r.State = StateStored
		}
		if r.Line == "" {
			r.Line = "0120000001"
		}
		if r.Decision == "" {
			r.Decision = "notified"
		}
		r.Consent = json.RawMessage(`{}`)
		if err := PutRecording(t.Context(), c.DB(), &r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

func idsOf(rs []*Recording) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// TestSearch: visibility by purpose and state, each filter, both orders
// and keyset pages.
func TestSearch(t *testing.T) {
	eachDriver(t, testSearch)
}

func testSearch(t *testing.T, c *Catalog) {
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	ids := put(t, c, base,
		Recording{Purpose: "a", Caller: "0311111111", Duration: 10 * time.Second},
		Recording{Purpose: "b", Caller: "0322222222", Duration: 20 * time.Second},
		Recording{Purpose: "a", Caller: "0311111111", State: StateRestricted},
		Recording{Purpose: "b", Caller: "0322222222", State: StateRestricted},
		Recording{Purpose: "a", Caller: "0333333333", State: StatePurging},
		Recording{Purpose: "a", Caller: "0311111111", Line: "0120000002", Decision: "opted-out"},
		Recording{Purpose: "c", Caller: "0311111111"},
	)
	// Same start time as ids[1]: the id breaks the tie.
	tie := put(t, c, base, Recording{Purpose: "a", ID: "0192f3e4-0000-7000-8000-000000000099", StartedAt: base.Add(time.Second)})
	for _, tc := range []struct {
		name string
		s    Search
		want []string
	}{
		{"visible purposes, stored only", Search{Visible: []string{"a", "b"}}, []string{ids[0], ids[1], ids[5]}},
		{"restricted of a only", Search{Visible: []string{"a", "b"}, Restricted: []string{"a"}}, []string{ids[0], ids[1], ids[2], ids[5]}},
		{"one purpose", Search{Visible: []string{"a", "b"}, Purpose: "b", Restricted: []string{"b"}}, []string{ids[1], ids[3]}},
		{"caller", Search{Visible: []string{"a", "b", "c"}, Caller: "0311111111"}, []string{ids[0], ids[5], ids[6]}},
		{"line", Search{Visible: []string{"a"}, Line: "0120000002"}, []string{ids[5]}},
		{"decision", Search{Visible: []string{"a", "c"}, Decision: "notified"}, []string{ids[0], ids[6]}},
		{"min duration", Search{Visible: []string{"a", "b"}, MinDuration: 15 * time.Second}, []string{ids[1]}},
		{"time range", Search{Visible: []string{"a", "b", "c"}, From: base.Add(time.Second), To: base.Add(6 * time.Second)}, []string{ids[1], ids[5]}},
		{"newest first", Search{Visible: []string{"a", "b", "c"}, Desc: true}, []string{ids[6], ids[5], ids[1], ids[0]}},
		{"after a cursor", Search{Visible: []string{"a", "b", "c"}, After: &Cursor{StartedAt: base.Add(time.Second), ID: ids[1]}}, []string{ids[5], ids[6]}},
		{"before a cursor, newest first", Search{Visible: []string{"a", "b", "c"}, Desc: true, After: &Cursor{StartedAt: base.Add(5 * time.Second), ID: ids[5]}}, []string{ids[1], ids[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.s.Limit == 0 {
				tc.s.Limit = 100
			}
			got, err := c.Search(t.Context(), tc.s)
			if err != nil {
				t.Fatal(err)
			}
			// The tie row (same time as ids[1], id sorting before it)
			// shows wherever purpose a is visible and unfiltered.
			g := slices.DeleteFunc(idsOf(got), func(s string) bool { return s == tie[0] })
			if !slices.Equal(g, tc.want) {
				t.Fatalf("got %v, want %v", g, tc.want)
			}
		})
	}
	// Pages of one walk every row once, in both orders, ties included.
	for _, desc := range []bool{false, true} {
		var seen []string
		var after *Cursor
		for range 20 {
			page, err := c.Search(t.Context(), Search{Visible: []string{"a", "b", "c"}, Desc: desc, After: after, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			seen = append(seen, page[0].ID)
			after = &Cursor{StartedAt: page[0].StartedAt, ID: page[0].ID}
		}
		if len(seen) != 5 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 5 {
			t.Errorf("desc=%v: pages of one gave %v, want five distinct rows", desc, seen)
		}
	}
	for _, bad := range []Search{{Limit: 10}, {Visible: []string{"a"}}, {Visible: []string{"a"}, Limit: 1001}} {
		if _, err := c.Search(t.Context(), bad); !errors.Is(err, ErrBadSearch) {
			t.Errorf("Search(%+v): got %v, want ErrBadSearch", bad, err)
		}
	}
}

// TestSearchPlans: the typical searches read an index in the order of
// the page and never sort the matching rows (a temporary B-tree), which
// is what keeps a page's cost independent of the catalog's size. The
// plans are SQLite's; PostgreSQL's planner picks by table statistics.
func TestSearchPlans(t *testing.T) {
	c := openTest(t)
	vis := []string{"cs-quality", "training", "complaints"}
	for _, tc := range []struct {
		name  string
		s     Search
		index string
	}{
		{"newest", Search{Desc: true}, "recordings_started_id"},
		{"time range", Search{From: time.Now().Add(-time.Hour), Desc: true}, "recordings_started_id"},
		{"line", Search{Line: "0120000001", Desc: true}, "recordings_line_started_id"},
		{"purpose", Search{Purpose: "training", Desc: true}, "recordings_purpose_started_id"},
		{"caller", Search{Caller: "0312345678", Desc: true}, "recordings_caller_started_id"},
		{"decision", Search{Decision: "opted-out", From: time.Now().Add(-time.Hour)}, "recordings_decision_started_id"},
		{"agent", Search{AgentID: "A-1001", Desc: true}, "recordings_agent_id_started_id"},
		{"next page", Search{Desc: true, After: &Cursor{StartedAt: time.Now(), ID: "x"}}, "recordings_started_id"},
		{"min duration, restricted visible", Search{MinDuration: time.Minute, Restricted: []string{"complaints"}}, "recordings_started_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Visible, tc.s.Limit = vis, 51
			plan := c.explain(t.Context(), t, tc.s)
			if !strings.Contains(plan, tc.index) || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("plan:\n%s\nwant %s and no temporary B-tree", plan, tc.index)
			}
		})
	}
}

// explain returns SQLite's plan for Search's query of s.
func (c *Catalog) explain(ctx context.Context, t *testing.T, s Search) string {
	t.Helper()
	q, args := searchQuery(s)
	rows, err := c.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n")
}

// TestSearchAgentID: the agent_id filter keeps the recordings of exactly
// that agent, on both drivers; rows without one are never matched by a
// filter, and a prefix of an id matches nothing.
func TestSearchAgentID(t *testing.T) {
	eachDriver(t, func(t *testing.T, c *Catalog) {
		base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		ids := put(t, c, base,
			Recording{Purpose: "a", AgentID: "A-1001"},
			Recording{Purpose: "a", AgentID: "A-10011"},
			Recording{Purpose: "a"},
			Recording{Purpose: "a", AgentID: "A-1001", State: StateRestricted},
			Recording{Purpose: "b", AgentID: "A-1001"},
			Recording{Purpose: "a", AgentID: "a-1001"},
		)
		for _, tc := range []struct {
			name  string
			agent string
			want  []string
		}{
			{"exact", "A-1001", []string{ids[0]}},
			{"longer id", "A-10011", []string{ids[1]}},
			{"a prefix matches nothing", "A-100", nil},
			{"case counts", "a-1001", []string{ids[5]}},
			{"unknown", "B-1", nil},
			{"no filter", "", []string{ids[0], ids[1], ids[2], ids[5]}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := c.Search(t.Context(), Search{Visible: []string{"a"}, AgentID: tc.agent, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				if g := idsOf(got); !slices.Equal(g, tc.want) {
					t.Fatalf("got %v, want %v", g, tc.want)
				}
				for _, r := range got {
					if tc.agent != "" && r.AgentID != tc.agent {
						t.Errorf("row %s: got agent_id %q, want %q", r.ID, r.AgentID, tc.agent)
					}
				}
			})
		}
	})
}
