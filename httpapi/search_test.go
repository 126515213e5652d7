package httpapi

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/catalog"
)

// seedSortable stores seven cs-quality recordings of 1 to 7 seconds,
// the newest the shortest, with agents, end reasons and cells a
// spreadsheet would take for formulas; the fourth is on legal hold.
func seedSortable(t *testing.T, e *env) []string {
	t.Helper()
	base := time.Now().Add(-2 * time.Hour)
	agents := []string{"A-7", "=HYPERLINK(\"http://x\")", "A-5", "+1+2", "A-3", "@SUM(A1)", "-1"}
	var recs []rec
	for i := range 7 {
		end := "caller-hangup"
		if i%3 == 0 {
			end = "agent-hangup"
		}
		recs = append(recs, rec{purpose: "cs-quality", caller: "0312345678", seconds: float64(7 - i), agent: agents[i], end: end,
			started: base.Add(time.Duration(i) * time.Minute)})
	}
	ids := e.seed(recs...)
	if err := catalog.SetHold(t.Context(), e.cat.DB(), true, "dispute", ids[3]); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestSearchSortPagesCount: every sort column pages through the whole
// result in its order by next_cursor, the first page says the total,
// times come in the zone asked for, and the hold, end reason, maximum
// duration and Call-ID filters keep what they name; sorting by caller
// is a privacy officer's.
func TestSearchSortPagesCount(t *testing.T) {
	e := newEnv(t)
	ids := seedSortable(t, e)
	pages := func(who, q string) ([]string, []int) {
		t.Helper()
		var got []string
		var totals []int
		cursor := ""
		for range 10 {
			var page apiclient.SearchPage
			path := "/api/v1/recordings?limit=3&" + q
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			} else {
				path += "&count=1"
			}
			e.get(who, path, http.StatusOK, &page)
			if page.Total != nil {
				totals = append(totals, *page.Total)
			}
			for _, r := range page.Recordings {
				got = append(got, r.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		return got, totals
	}
	rev := slices.Clone(ids)
	slices.Reverse(rev)
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"sort=-started_at", rev},
		{"sort=started_at", ids},
		{"sort=duration", rev},
		{"sort=-duration", ids},
		{"sort=agent_id", []string{ids[3], ids[6], ids[1], ids[5], ids[4], ids[2], ids[0]}},
		{"sort=-legal_hold", []string{ids[3], ids[6], ids[5], ids[4], ids[2], ids[1], ids[0]}},
		{"sort=end_reason", []string{ids[0], ids[3], ids[6], ids[1], ids[2], ids[4], ids[5]}},
		{"hold=held", []string{ids[3]}},
		{"hold=not-held&sort=started_at", []string{ids[0], ids[1], ids[2], ids[4], ids[5], ids[6]}},
		{"end_reason=agent-hangup&sort=started_at", []string{ids[0], ids[3], ids[6]}},
		{"max_duration=3&sort=started_at", []string{ids[4], ids[5], ids[6]}},
		{"min_duration=3&max_duration=4s&sort=started_at", []string{ids[3], ids[4]}},
		{"sip_call_id=" + url.QueryEscape(ids[2]+"@test"), []string{ids[2]}},
	} {
		t.Run(tc.q, func(t *testing.T) {
			got, totals := pages("sup", tc.q)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if len(totals) != 1 || totals[0] != len(tc.want) {
				t.Errorf("got totals %v, want [%d] on the first page only", totals, len(tc.want))
			}
		})
	}

	var page apiclient.SearchPage
	e.get("sup", "/api/v1/recordings?tz=Asia/Tokyo&limit=1", http.StatusOK, &page)
	if page.Total != nil {
		t.Errorf("got total %d without count=1, want none (counting costs)", *page.Total)
	}
	b, _ := page.Recordings[0].StartedAt.MarshalText()
	if !strings.HasSuffix(string(b), "+09:00") {
		t.Errorf("tz=Asia/Tokyo: got started_at %s, want the +09:00 offset", b)
	}
	res, body := e.do("sup", http.MethodGet, "/api/v1/recordings?sort=caller", nil)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "privacy officers") {
		t.Errorf("a supervisor's sort by caller: got %d %s, want 403", res.StatusCode, body)
	}
	if got, _ := pages("po", "sort=-caller"); len(got) != 7 {
		t.Errorf("a privacy officer's sort by caller: got %d rows, want 7", len(got))
	}
}

// TestSearchExportCSV: the export holds the whole result in the search's
// order, callers masked for a supervisor and in clear for a privacy
// officer, times in the zone asked for, every cell that a spreadsheet
// would read as a formula prefixed with '; it is audited as an export
// with every id before it is sent.
func TestSearchExportCSV(t *testing.T) {
	e := newEnv(t)
	ids := seedSortable(t, e)
	before := e.head()
	res, body := e.do("sup", http.MethodGet, "/api/v1/recordings/export?sort=duration&tz=Asia/Tokyo", nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: got %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) != 8 {
		t.Fatalf("got %d rows (%v), want a header and 7:\n%s", len(rows), err, body)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var order, agents []string
	for _, r := range rows[1:] {
		order = append(order, r[col["id"]])
		agents = append(agents, r[col["agent_id"]])
		if r[col["caller"]] != "0312****78" || !strings.HasSuffix(r[col["started_at"]], "+09:00") {
			t.Errorf("got caller %q, started_at %q; want it masked and +09:00", r[col["caller"]], r[col["started_at"]])
		}
	}
	rev := slices.Clone(ids)
	slices.Reverse(rev)
	if !slices.Equal(order, rev) {
		t.Errorf("got order %v, want by duration %v", order, rev)
	}
	wantAgents := []string{"'-1", "'@SUM(A1)", "A-3", "'+1+2", "A-5", "'=HYPERLINK(\"http://x\")", "A-7"}
	if fmt.Sprint(agents) != fmt.Sprint(wantAgents) {
		t.Errorf("got agent cells %q, want %q", agents, wantAgents)
	}
	var exports int
	for _, en := range e.audit(before) {
		if en.Action == "search-export" && en.Actor == "sup" {
			exports++
			for _, id := range ids {
				if !strings.Contains(en.Detail, id) {
					t.Errorf("the export's audit entry lacks %s: %s", id, en.Detail)
				}
			}
		}
	}
	if exports != 1 {
		t.Errorf("got %d search-export audit entries, want 1", exports)
	}
	_, body = e.do("po", http.MethodGet, "/api/v1/recordings/export?hold=held", nil)
	if rows, _ := csv.NewReader(strings.NewReader(string(body))).ReadAll(); len(rows) != 2 || rows[1][col["caller"]] != "0312345678" || rows[1][col["id"]] != ids[3] {
		t.Errorf("a privacy officer's export of the held one: got %q, want it with the caller in clear", rows)
	}
}

// TestSearchExportChecksListeners: the CSV export follows the read rules.
// A supervisor's export holds none of the complaints recordings (a purpose
// whose listeners are privacy officers only), even when it asks for that
// purpose (then 403 and no export entry), and the export's audit entry
// names only what it exported; a privacy officer's holds none of the
// training ones.
func TestSearchExportChecksListeners(t *testing.T) {
	e := newEnv(t)
	start := time.Now().Add(-2 * time.Hour)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0311111111", seconds: 1, started: start},
		rec{purpose: "complaints", caller: "0322222222", seconds: 1, started: start.Add(time.Minute)},
		rec{purpose: "training", caller: "0333333333", seconds: 1, started: start.Add(2 * time.Minute)})
	for _, c := range []struct {
		name, who, query string
		code             int
		want             []string
		refused          []string
	}{
		{"supervisor, every purpose", "sup", "", 200, []string{ids[0], ids[2]}, []string{ids[1]}},
		{"supervisor, asking for complaints", "sup", "?purpose=complaints", 403, nil, []string{ids[1]}},
		{"privacy officer, every purpose", "po", "", 200, []string{ids[0], ids[1]}, []string{ids[2]}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.head()
			res, body := e.do(c.who, http.MethodGet, "/api/v1/recordings/export"+c.query, nil)
			if res.StatusCode != c.code {
				t.Fatalf("export: got %d %s, want %d", res.StatusCode, body, c.code)
			}
			if c.code != 200 {
				for _, en := range e.audit(before) {
					if en.Action == "search-export" {
						t.Errorf("a refused export left a search-export entry: %s", en.Detail)
					}
				}
				if strings.Contains(string(body), ids[1]) {
					t.Errorf("the refusal names %s: %s", ids[1], body)
				}
				return
			}
			rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
			if err != nil || len(rows) == 0 {
				t.Fatalf("got %d rows (%v):\n%s", len(rows), err, body)
			}
			var got []string
			for _, r := range rows[1:] {
				got = append(got, r[0])
			}
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got ids %v, want %v", got, want)
			}
			for _, id := range c.refused {
				if strings.Contains(string(body), id) {
					t.Errorf("the CSV holds %s, of a purpose not open to %s", id, c.who)
				}
			}
			var exports int
			for _, en := range e.audit(before) {
				if en.Action != "search-export" || en.Actor != c.who {
					continue
				}
				exports++
				for _, id := range c.want {
					if !strings.Contains(en.Detail, id) {
						t.Errorf("the audit entry lacks exported %s: %s", id, en.Detail)
					}
				}
				for _, id := range c.refused {
					if strings.Contains(en.Detail, id) {
						t.Errorf("the audit entry names %s, which was not exported: %s", id, en.Detail)
					}
				}
			}
			if exports != 1 {
				t.Errorf("got %d search-export audit entries, want 1", exports)
			}
		})
	}
}
