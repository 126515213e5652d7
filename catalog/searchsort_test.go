package catalog

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestSearchSortAndFilters: the hold, end reason, maximum duration and
// SIP Call-ID filters, the count of a search whatever its page, and
// pages sorted by each column both ways, cut by cursors that carry the
// sort key, on both drivers.
func TestSearchSortAndFilters(t *testing.T) {
	eachDriver(t, func(t *testing.T, c *Catalog) {
		base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		end := func(r string) json.RawMessage { return json.RawMessage(`{"end_reason":"` + r + `"}`) }
		ids := put(t, c, base,
			Recording{Purpose: "a", Line: "0120000003", Duration: 30 * time.Second, Manifest: end("caller-hangup"), SIPCallID: "c0@pbx", AgentID: "A-2", ObjectKey: "a/0.wav"},
			Recording{Purpose: "a", Line: "0120000001", Duration: 10 * time.Second, Manifest: end("agent-hangup"), SIPCallID: "c1@pbx", LegalHold: true},
			Recording{Purpose: "a", Line: "0120000002", Duration: 20 * time.Second, Manifest: end("caller-hangup"), SIPCallID: "c2@pbx", AgentID: "A-1", ObjectKey: "a/2.wav"},
			Recording{Purpose: "a", Line: "0120000001", Duration: 10 * time.Second, SIPCallID: "c3@pbx"},
			Recording{Purpose: "b", Line: "0120000001", Duration: 5 * time.Second, Manifest: end("caller-hangup"), SIPCallID: "c4@pbx"},
		)
		vis := []string{"a"}
		for _, tc := range []struct {
			name string
			s    Search
			want []string
		}{
			{"held", Search{Hold: Held}, []string{ids[1]}},
			{"not held", Search{Hold: NotHeld}, []string{ids[0], ids[2], ids[3]}},
			{"end reason", Search{EndReason: "caller-hangup"}, []string{ids[0], ids[2]}},
			{"no such end reason", Search{EndReason: "caller"}, nil},
			{"at most 20 s", Search{MaxDuration: 20 * time.Second}, []string{ids[1], ids[2], ids[3]}},
			{"10 s to 20 s", Search{MinDuration: 11 * time.Second, MaxDuration: 20 * time.Second}, []string{ids[2]}},
			{"Call-ID", Search{SIPCallID: "c2@pbx"}, []string{ids[2]}},
			{"Call-ID of an invisible purpose", Search{SIPCallID: "c4@pbx"}, nil},
			{"by duration", Search{Sort: "duration"}, []string{ids[1], ids[3], ids[2], ids[0]}},
			{"by duration, longest first", Search{Sort: "duration", Desc: true}, []string{ids[0], ids[2], ids[3], ids[1]}},
			{"by line", Search{Sort: "line"}, []string{ids[1], ids[3], ids[2], ids[0]}},
			{"by end reason", Search{Sort: "end_reason"}, []string{ids[3], ids[1], ids[0], ids[2]}},
			{"by hold, held first", Search{Sort: "legal_hold", Desc: true}, []string{ids[1], ids[3], ids[2], ids[0]}},
			{"by agent id", Search{Sort: "agent_id"}, []string{ids[1], ids[3], ids[2], ids[0]}},
			{"by audio, recorded first", Search{Sort: "has_audio", Desc: true}, []string{ids[2], ids[0], ids[3], ids[1]}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.s.Visible, tc.s.Limit = vis, 100
				got, err := c.Search(t.Context(), tc.s)
				if err != nil {
					t.Fatal(err)
				}
				if g := idsOf(got); !slices.Equal(g, tc.want) {
					t.Fatalf("got %v, want %v", g, tc.want)
				}
				n, err := c.CountSearch(t.Context(), tc.s, 100)
				if err != nil || n != len(tc.want) {
					t.Errorf("count: got %d, %v, want %d", n, err, len(tc.want))
				}
				if n, err := c.CountSearch(t.Context(), tc.s, 1); err != nil || n != min(len(tc.want), 2) {
					t.Errorf("count up to 1: got %d, %v, want %d", n, err, min(len(tc.want), 2))
				}
				// One row a page, each page after the last row's cursor:
				// the same rows in the same order.
				var paged []string
				s := tc.s
				s.Limit = 1
				for range 10 {
					page, err := c.Search(t.Context(), s)
					if err != nil {
						t.Fatal(err)
					}
					if len(page) == 0 {
						break
					}
					r := page[0]
					paged = append(paged, r.ID)
					s.After = &Cursor{Key: SortKey(s.Sort, r), StartedAt: r.StartedAt, ID: r.ID}
				}
				if !slices.Equal(paged, tc.want) {
					t.Errorf("page by page: got %v, want %v", paged, tc.want)
				}
			})
		}
		for _, bad := range []Search{
			{Sort: "caller_number"},
			{Hold: "yes"},
			{Sort: "duration", After: &Cursor{Key: "10", ID: ids[0]}},
			{Sort: "line", After: &Cursor{Key: int64(1), ID: ids[0]}},
			{Sort: "line", After: &Cursor{ID: ids[0]}},
		} {
			bad.Visible, bad.Limit = vis, 10
			if _, err := c.Search(t.Context(), bad); !errors.Is(err, ErrBadSearch) {
				t.Errorf("search %+v: got %v, want ErrBadSearch", bad, err)
			}
		}
	})
}
