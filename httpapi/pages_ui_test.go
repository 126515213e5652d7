package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// untranslated lists the shown elements whose text is not their key's
// Japanese (or whose key has none): an English string left in a
// Japanese page.
const untranslated = `(() => {
	const bad = [];
	let n = 0;
	document.querySelectorAll('[data-i18n]').forEach((el) => {
		if (el.closest('[hidden]')) return;
		n++;
		const k = el.dataset.i18n, ja = L.ja[k];
		if (ja === undefined) bad.push(k + ': no Japanese');
		else if (!ja.includes('{') && el.textContent !== ja) bad.push(k + ': ' + JSON.stringify(el.textContent));
	});
	document.querySelectorAll('[data-i18n-aria]').forEach((el) => {
		const k = el.dataset.i18nAria;
		if (L.ja[k] === undefined || el.getAttribute('aria-label') !== L.ja[k]) bad.push(k + ' (aria-label): ' + el.getAttribute('aria-label'));
	});
	return { bad, n };
})()`

// TestBrowserEveryPageNarrowBilingual: every page of the UI — sign-in,
// search with results, a recording, the audit log, the incident report,
// contract ends, requests, an erasure's confirmation, retention, holds,
// live calls — fits 360 px with no axe-core violation, in English and in
// Japanese, and in Japanese shows no English string of the UI's own
// (every labelled element holds its key's Japanese). A screenshot of
// each page in Japanese at 360 px is kept under the test's temp dir.
func TestBrowserEveryPageNarrowBilingual(t *testing.T) {
	e := newRetentionEnv(t)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 2, started: time.Now().Add(-time.Hour)})
	q := e.newRequest("erasure", "0312345678")
	shots := t.TempDir()
	type pg struct{ what, hash, sel, nav string }
	// Each group in a browser of its own: the browser's deadline is two
	// minutes, and each page is checked four times.
	for _, g := range []struct {
		name, who string
		pages     []pg
	}{
		{"first pages", "po", []pg{{"search", "#/search", "#search-form", ""}, {"recording", "#/recordings/" + ids[0], "#r-meta dt", ""}}},
		{"auditor's pages", "aud", []pg{{"audit log", "#/audit", "#audit-form", "#nav-audit"},
			{"incident report", "#/incidents", "#inc-form", "#nav-incidents"}, {"contract ends", "#/contract-ends", "#main h1", "#nav-contracts"}}},
		{"privacy officer's pages", "po", []pg{{"requests", "#/requests", "#req-form", "#nav-requests"},
			{"erasure confirmation", "#/requests/" + q, "#er-show", ""},
			{"retention", "#/retention", "#ret-plan", "#nav-retention"}, {"holds", "#/holds", "#bulk-form", "#nav-holds"}}},
		{"supervisor's pages", "sup", []pg{{"live calls", "#/live", "#live-refresh", "#nav-live"}}},
	} {
		t.Run(g.name, func(t *testing.T) {
			p := &page{t: t, ctx: browser(t)}
			both := func(what string) {
				t.Helper()
				p.narrow(what)
				p.do("Japanese", chromedp.Click(chromedp.CSS("#lang")))
				p.until(what+" in Japanese", `document.documentElement.lang === 'ja'`)
				type check struct {
					Bad []string `json:"bad"`
					N   int      `json:"n"`
				}
				if c := eval[check](p, untranslated); len(c.Bad) > 0 || c.N < 3 {
					t.Errorf("%s in Japanese: %d labelled elements checked, these not in Japanese: %s", what, c.N, strings.Join(c.Bad, "; "))
				}
				p.narrow(what + " in Japanese")
				p.do("360 px for the picture", chromedp.EmulateViewport(360, 800))
				p.keep(shots, strings.ReplaceAll(what, " ", "-")+"-ja-360.png")
				p.do("wide, English", chromedp.EmulateViewport(1280, 1000), chromedp.Click(chromedp.CSS("#lang")))
				p.until(what+" in English", `document.documentElement.lang === 'en'`)
			}
			if g.name == "first pages" {
				p.do("open the sign-in page", chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
				both("sign-in")
			}
			p.signIn(e.srv.URL+"/", g.who)
			for _, pg := range g.pages {
				if pg.nav != "" {
					p.until("the navigation", `!!document.querySelector('`+pg.nav+`')`)
					if eval[bool](p, `document.querySelector('`+pg.nav+`').hidden`) {
						t.Errorf("%s: no entry in the %s's navigation", pg.what, g.who)
						continue
					}
				}
				p.open(pg.hash, pg.sel)
				switch pg.what {
				case "search":
					p.do("search", chromedp.Click(chromedp.CSS("#search-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#results tbody tr")))
				case "erasure confirmation":
					p.do("show what the erasure destroys", chromedp.Click(chromedp.CSS("#er-show")), chromedp.WaitVisible(chromedp.CSS("#er-destroy")))
				}
				start := time.Now()
				both(pg.what)
				t.Logf("%s checked in %s", pg.what, time.Since(start).Round(100*time.Millisecond))
			}
		})
	}
}
