package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kiroku-voice/kiroku/spool"
)

// shot saves the page as name (PNG) under the test's temporary folder,
// and in $KIROKU_UI_SHOTS when it is set (keep).
func (p *page) shot(name string) {
	p.t.Helper()
	p.keep(p.t.TempDir(), name)
}

// shownIDs are the recording ids of the result rows, in order.
func shownIDs(p *page) []string {
	return eval[[]string](p, `[...document.querySelectorAll('#results tbody tr')].map((tr) => tr.dataset.id)`)
}

// searchAs signs in as who, sets rows a page and searches.
func searchAs(p *page, url, who string, limit int) {
	p.t.Helper()
	p.signIn(url, who)
	p.do("search",
		chromedp.SetValue(chromedp.CSS("#f-limit"), fmt.Sprint(limit)),
		chromedp.Click(chromedp.CSS("#search-btn")),
		chromedp.WaitVisible(chromedp.CSS("#results tbody tr")))
}

// TestBrowserSearchPaging: seven recordings three a page read as three
// pages, each with the count, forward and back, newest first.
func TestBrowserSearchPaging(t *testing.T) {
	e := newEnv(t)
	ids := seedSortable(t, e)
	rev := slices.Clone(ids)
	slices.Reverse(rev)
	p := &page{t: t, ctx: browser(t)}
	searchAs(p, e.srv.URL+"/", "sup", 3)
	for i, want := range [][]string{rev[:3], rev[3:6], rev[6:]} {
		if i > 0 {
			first := want[0]
			p.do("next page", chromedp.Click(chromedp.CSS("#next")))
			p.until("page "+fmt.Sprint(i+1), `document.querySelector('#results tbody tr').dataset.id === '`+first+`'`)
		}
		if got := shownIDs(p); !slices.Equal(got, want) {
			t.Errorf("page %d: got %v, want %v", i+1, got, want)
		}
		wantCount := fmt.Sprintf("%d–%d of 7 recordings", 3*i+1, 3*i+len(want))
		if c := p.text("#count"); c != wantCount {
			t.Errorf("page %d: got count %q, want %q", i+1, c, wantCount)
		}
	}
	if next := eval[bool](p, `document.querySelector('#next').disabled`); !next {
		t.Error("the last page offers a next page")
	}
	p.shot("ui-search-paging.png")
	p.accessible("the search page")
	p.do("back a page", chromedp.Click(chromedp.CSS("#prev")))
	p.until("page 2 again", `document.querySelector('#results tbody tr').dataset.id === '`+rev[3]+`'`)
	p.do("back to the first", chromedp.Click(chromedp.CSS("#prev")))
	p.until("page 1 again", `document.querySelector('#results tbody tr').dataset.id === '`+rev[0]+`'`)
	if prev := eval[bool](p, `document.querySelector('#prev').disabled`); !prev {
		t.Error("the first page offers a previous page")
	}
	p.do("switch to Japanese", chromedp.Click(chromedp.CSS("#lang")))
	if c := p.text("#count"); c != "全 7 件中 1–3 件" {
		t.Errorf("got count %q in Japanese", c)
	}
}

// TestBrowserSearchSort: clicking a column's header sorts the whole
// result by it (ascending, then descending), across pages; a supervisor
// cannot sort by caller.
func TestBrowserSearchSort(t *testing.T) {
	e := newEnv(t)
	ids := seedSortable(t, e)
	p := &page{t: t, ctx: browser(t)}
	searchAs(p, e.srv.URL+"/", "sup", 4)
	sortBy := func(col, order, first string) {
		t.Helper()
		p.do("sort by "+col, chromedp.Click(chromedp.CSS(`#results th[data-sort="`+col+`"] button`)))
		p.until(col+" "+order, `document.querySelector('#results th[data-sort="`+col+`"]').getAttribute('aria-sort') === '`+order+`' &&
			document.querySelector('#results tbody tr').dataset.id === '`+first+`'`)
	}
	// Durations are 7 s down to 1 s in start order: shortest first is
	// newest first.
	sortBy("duration", "ascending", ids[6])
	page1 := shownIDs(p)
	p.do("next page", chromedp.Click(chromedp.CSS("#next")))
	p.until("page 2", `document.querySelector('#results tbody tr').dataset.id === '`+ids[2]+`'`)
	all := append(page1, shownIDs(p)...)
	want := slices.Clone(ids)
	slices.Reverse(want)
	if !slices.Equal(all, want) {
		t.Errorf("by duration, two pages: got %v, want %v", all, want)
	}
	durations := eval[[]string](p, `[...document.querySelectorAll('#results tbody td.duration')].map((td) => td.textContent)`)
	if fmt.Sprint(durations) != "[0:05 0:06 0:07]" {
		t.Errorf("page 2 by duration: got %v", durations)
	}
	sortBy("duration", "descending", ids[0])
	sortBy("agent_id", "ascending", ids[3])
	cells := eval[[]string](p, `[...document.querySelectorAll('#results tbody td.agent-id')].map((td) => td.textContent)`)
	if fmt.Sprint(cells) != `[+1+2 -1 =HYPERLINK("http://x") @SUM(A1)]` {
		t.Errorf("by agent id: got %q", cells)
	}
	sortBy("legal_hold", "ascending", ids[0])
	sortBy("legal_hold", "descending", ids[3])
	if n := eval[int](p, `document.querySelectorAll('#results th[data-sort="caller"] button').length`); n != 0 {
		t.Error("a supervisor is offered sorting by caller")
	}
	if s := eval[string](p, `document.querySelector('#results th[data-sort="started_at"]').getAttribute('aria-sort') || ''`); s != "" {
		t.Errorf("got aria-sort %q on the start column while sorted by hold", s)
	}
	p.shot("ui-search-sort.png")
	p.accessible("the search page sorted")
}

// TestBrowserSearchExport: the Export CSV button saves the API's CSV of
// the whole result (not just the page), in the user's chosen zone, the
// caller masked for a supervisor and formula-like cells neutralised;
// the zone setting is the user's own and shows in the times.
func TestBrowserSearchExport(t *testing.T) {
	e := newEnv(t)
	seedSortable(t, e)
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "sup")
	p.do("choose Asia/Tokyo and search",
		chromedp.SetValue(chromedp.CSS("#tz"), "Asia/Tokyo"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#tz').dispatchEvent(new Event('change'))`),
		chromedp.SetValue(chromedp.CSS("#f-limit"), "2"),
		chromedp.SetValue(chromedp.CSS("#f-end"), "caller-hangup"),
		chromedp.Click(chromedp.CSS("#search-btn")),
		chromedp.WaitVisible(chromedp.CSS("#results tbody tr")))
	if c := p.text("#count"); c != "1–2 of 4 recordings" {
		t.Errorf("got count %q, want the four caller-hangup ones", c)
	}
	if cell := p.text("#results tbody tr td a"); !strings.Contains(cell, "JST") && !strings.Contains(cell, "GMT+9") {
		t.Errorf("got start time %q, want it with its zone (JST)", cell)
	}
	p.captureDownloads()
	p.do("export", chromedp.Click(chromedp.CSS("#export")))
	got := p.downloaded(1)
	_, api := e.do("sup", http.MethodGet, "/api/v1/recordings/export?end_reason=caller-hangup&sort=-started_at&tz=Asia%2FTokyo", nil)
	if got != string(api) {
		t.Errorf("downloaded CSV:\n%s\nwant the API's:\n%s", got, api)
	}
	rows, err := csv.NewReader(strings.NewReader(got)).ReadAll()
	if err != nil || len(rows) != 5 {
		t.Fatalf("got %d rows (%v), want a header and all 4 (not the page's 2)", len(rows), err)
	}
	for _, r := range rows[1:] {
		if r[9] != "0312****78" || !strings.HasSuffix(r[1], "+09:00") || strings.ContainsAny(r[11][:1], "=+-@") {
			t.Errorf("got row %q: want the caller masked, +09:00, no formula-like agent cell", r)
		}
	}
	p.until("the download to be said", `document.querySelector('#status').textContent.includes('recordings.csv')`)
	p.noTokenInURLs()
	p.shot("ui-search-export.png")
	p.accessible("the search page with a filter")

	// The zone is sup's own: another user in the same browser starts on
	// the browser's, and sup's comes back with sup.
	p.do("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token")))
	p.signIn(e.srv.URL+"/", "po")
	if z := eval[string](p, `document.querySelector('#tz').value`); z != "" {
		t.Errorf("po starts on zone %q, want the browser's", z)
	}
	p.do("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token")))
	p.signIn(e.srv.URL+"/", "sup")
	if z := eval[string](p, `document.querySelector('#tz').value`); z != "Asia/Tokyo" {
		t.Errorf("sup comes back to zone %q, want Asia/Tokyo", z)
	}
}

// TestBrowserSearchFilters: the search form's legal hold, maximum
// duration and SIP Call-ID filters, filled in the browser, give exactly
// the recordings the API's filters give.
func TestBrowserSearchFilters(t *testing.T) {
	e := newEnv(t)
	now := time.Now().Add(-time.Hour)
	ids := e.seed(
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 2, started: now},
		rec{purpose: "cs-quality", caller: "0398765432", seconds: 8, started: now.Add(-time.Minute)},
		rec{purpose: "cs-quality", caller: "0311112222", seconds: 5, started: now.Add(-2 * time.Minute),
			edit: func(m *spool.Manifest) { m.SIPCallID = "a84b4c76e66710@pbx.example" }},
	)
	if res, b := e.send("po", http.MethodPost, "/api/v1/holds", map[string]any{"ids": []string{ids[0]}, "on": true, "reason": "complaint"}); res.StatusCode != http.StatusOK {
		t.Fatalf("hold: %d %s", res.StatusCode, b)
	}
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "po")
	for _, c := range []struct {
		what          string
		hold, max, id string
		want          []string
	}{
		{"held", "held", "", "", []string{ids[0]}},
		{"not held", "not-held", "", "", []string{ids[1], ids[2]}},
		{"at most 6 s", "", "6", "", []string{ids[0], ids[2]}},
		{"by SIP Call-ID", "", "", "a84b4c76e66710@pbx.example", []string{ids[2]}},
		{"not held, at most 6 s", "not-held", "6", "", []string{ids[2]}},
	} {
		set, _ := json.Marshal(map[string]string{"#f-hold": c.hold, "#f-max": c.max, "#f-callid": c.id})
		p.do("search "+c.what,
			chromedp.Evaluate[chromedp.Void](`for (const [sel, v] of Object.entries(`+string(set)+`)) document.querySelector(sel).value = v;
				document.querySelector('#count').textContent = ''`), // so that the wait below sees this search's count
			chromedp.Click(chromedp.CSS("#search-btn")))
		p.until(c.what, `document.querySelector('#count').textContent.includes(' of `+fmt.Sprint(len(c.want))+` recording')`)
		if got := shownIDs(p); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.what, got, c.want)
		}
	}
	p.shot("ui-search-filters.png")
}
