package httpapi

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
)

// keep saves the page as name in dir (the test's temp dir), and also in
// $KIROKU_UI_SHOTS when it is set (how the README's pictures are made).
func (p *page) keep(dir, name string) {
	p.t.Helper()
	b, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.fail("screenshot", err)
	}
	for _, d := range []string{dir, os.Getenv("KIROKU_UI_SHOTS")} {
		if d == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
	p.t.Logf("screenshot: %s", filepath.Join(dir, name))
}

// narrow checks the page fits 360 px without sideways scrolling of the
// page itself (wide tables scroll in their own box) and is accessible
// at that width, then goes back to the wide window.
func (p *page) narrow(what string) {
	p.t.Helper()
	p.do("360 px", chromedp.EmulateViewport(360, 800))
	if w := eval[int](p, `document.scrollingElement.scrollWidth`); w > 360 {
		p.t.Errorf("%s at 360 px: the page is %d px wide, want no sideways scrolling; widest: %s", what, w,
			eval[string](p, `[...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > 360 && !e.closest('.scroll')).map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5).join(' ')`))
	}
	p.accessible(what + " at 360 px")
	p.do("wide", chromedp.EmulateViewport(1280, 1000))
}

// open opens hash in the signed-in page and waits for sel.
func (p *page) open(hash, sel string) {
	p.t.Helper()
	p.do("open "+hash, chromedp.Evaluate[chromedp.Void](`location.hash = '`+hash+`'`), chromedp.WaitVisible(chromedp.CSS(sel)))
}

func countActions(es []apiclientEntry, action string) int {
	n := 0
	for _, e := range es {
		if e.action == action {
			n++
		}
	}
	return n
}

type apiclientEntry struct{ action, actor, target string }

func (e *env) actions(after int64) []apiclientEntry {
	var out []apiclientEntry
	for _, a := range e.audit(after) {
		out = append(out, apiclientEntry{string(a.Action), a.Actor, a.Target})
	}
	return out
}

// TestPrivacyDisclosureUI: a privacy officer records a disclosure
// request in the UI — refused while the verification is blank, taken
// once it says how the person was verified — discloses it and
// downloads the ZIP, then downloads it again from the answered request:
// both downloads are ZIPs and each wrote its own disclose audit entry.
// The requests pages have no axe-core violations, fit 360 px and switch
// to Japanese.
func TestPrivacyDisclosureUI(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	id := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: time.Now().Add(-time.Hour)})[0]
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "po")
	p.open("#/requests", "#req-form")
	p.do("fill the request without a verification",
		chromedp.SetValue(chromedp.CSS("#req-kind"), "disclosure"),
		chromedp.SendKeys(chromedp.CSS("#req-callers"), "03-1234-5678"),
		chromedp.SendKeys(chromedp.CSS("#req-requester"), "本人"),
		chromedp.SendKeys(chromedp.CSS("#req-verification"), "   "),
		chromedp.Click(chromedp.CSS("#req-create")))
	p.until("the refusal", `document.querySelector('#status').className === 'problem' && document.querySelector('#status').textContent.includes('verification')`)
	var list apiclient.RequestList
	e.get("po", "/api/v1/requests", http.StatusOK, &list)
	if len(list.Requests) != 0 {
		t.Fatalf("got %d requests after a blank verification, want none", len(list.Requests))
	}
	p.accessible("the requests page")
	p.narrow("the requests page")
	p.keep(dir, "privacy-requests.png")

	p.do("verify and create",
		chromedp.SendKeys(chromedp.CSS("#req-verification"), "運転免許証 照合番号 D-42"),
		chromedp.Click(chromedp.CSS("#req-create")),
		chromedp.WaitVisible(chromedp.CSS("#req-disclose")))
	e.get("po", "/api/v1/requests", http.StatusOK, &list)
	if len(list.Requests) != 1 || list.Requests[0].Kind != "disclosure" || list.Requests[0].Verification != "運転免許証 照合番号 D-42" {
		t.Fatalf("requests: %+v, want the one disclosure", list.Requests)
	}
	q := list.Requests[0].ID
	p.accessible("a request")
	p.narrow("a request")

	before := e.head()
	p.captureDownloads()
	p.do("disclose", chromedp.Click(chromedp.CSS("#req-disclose")))
	first := p.downloaded(1)
	p.until("the answered request", `document.querySelector('#req-disclose').dataset.i18n === 'reqDiscloseAgain'`)
	p.do("download again", chromedp.Click(chromedp.CSS("#req-disclose")))
	second := p.downloaded(2)
	for i, z := range []string{first, second} {
		if !strings.HasPrefix(z, "PK") || !strings.Contains(z, id) {
			t.Errorf("download %d: %d bytes starting %q, want a ZIP naming %s", i+1, len(z), z[:min(len(z), 8)], id)
		}
	}
	got := e.actions(before)
	if n := countActions(got, "disclose"); n != 2 {
		t.Errorf("got %d disclose audit entries for the two downloads, want 2: %+v", n, got)
	}
	for _, a := range got {
		if a.action == "disclose" && a.actor != "po" {
			t.Errorf("disclose entry by %q, want po", a.actor)
		}
	}
	if txt := p.text("#req-meta"); !strings.Contains(txt, "Answered") {
		t.Errorf("request after the disclosure says %q, want it answered", txt)
	}
	p.keep(dir, "privacy-request.png")

	p.do("Japanese", chromedp.Click(chromedp.CSS("#lang")))
	p.open("#/requests/"+q, "#req-disclose")
	if txt := p.text("#nav-requests") + p.text("#req-disclose"); !strings.Contains(txt, "本人請求") || !strings.Contains(txt, "もう一度") {
		t.Errorf("Japanese page says %q", txt)
	}
	p.accessible("a request in Japanese")
}

// TestPrivacyErasureUI: an erasure shows its plan — the recording it
// destroys and the held one it keeps — and erases only after the
// explicit confirmation: the button stays disabled until the box is
// ticked; then the recording is gone and the held one is still there.
func TestPrivacyErasureUI(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	now := time.Now().Add(-time.Hour)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now},
		rec{purpose: "complaints", caller: "0312345678", started: now.Add(-time.Minute)})
	if res, b := e.send("po", http.MethodPost, "/api/v1/holds", map[string]any{"ids": []string{ids[1]}, "on": true, "reason": "訴訟対応"}); res.StatusCode != http.StatusOK {
		t.Fatalf("hold: %d %s", res.StatusCode, b)
	}
	q := e.newRequest("erasure", "0312345678")
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "po")
	p.open("#/requests/"+q, "#er-show")
	p.do("show the plan", chromedp.Click(chromedp.CSS("#er-show")), chromedp.WaitVisible(chromedp.CSS("#er-destroy")))
	if d, h := p.text("#er-destroy tbody"), p.text("#er-held tbody"); !strings.Contains(d, ids[0]) || strings.Contains(d, ids[1]) || !strings.Contains(h, ids[1]) || !strings.Contains(h, "訴訟対応") {
		t.Fatalf("plan: destroy %q, held %q; want %s destroyed and %s held with its reason", d, h, ids[0], ids[1])
	}
	if !eval[bool](p, `document.querySelector('#er-erase').disabled`) {
		t.Error("erase button enabled before the confirmation")
	}
	p.accessible("the erasure plan")
	p.narrow("the erasure plan")
	p.keep(dir, "privacy-erasure.png")
	if res, _ := e.do("po", http.MethodGet, "/api/v1/recordings/"+ids[0], nil); res.StatusCode != http.StatusOK {
		t.Fatalf("recording before the confirmation: %d", res.StatusCode)
	}
	p.do("confirm and erase", chromedp.Click(chromedp.CSS("#er-confirm")), chromedp.Click(chromedp.CSS("#er-erase")))
	p.until("the erasure", `document.querySelector('#status').textContent.includes('Erased: 1')`)
	if res, _ := e.do("po", http.MethodGet, "/api/v1/recordings/"+ids[0], nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("erased recording: got %d, want 404", res.StatusCode)
	}
	if res, _ := e.do("po", http.MethodGet, "/api/v1/recordings/"+ids[1], nil); res.StatusCode != http.StatusOK {
		t.Errorf("held recording: got %d, want 200 (kept)", res.StatusCode)
	}
}

// TestPrivacyRetentionUI: the retention plan page shows a purpose's
// recording past its limit as due, and lists it first among the
// recordings the purpose loses next, with its date.
func TestPrivacyRetentionUI(t *testing.T) {
	e := newRetentionEnv(t)
	dir := t.TempDir()
	now := time.Now()
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", started: now.Add(-100 * 24 * time.Hour)},
		rec{purpose: "cs-quality", caller: "0312345679", started: now.Add(-time.Hour)},
		rec{purpose: "complaints", caller: "0312345670", started: now.Add(-2 * time.Hour)})
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "po")
	p.open("#/retention", "#ret-plan")
	row := eval[string](p, `[...document.querySelectorAll('#ret-plan tbody tr')].map((r) => r.innerText).find((s) => s.startsWith('cs-quality')) || ''`)
	if cells := strings.Split(row, "\t"); len(cells) < 5 || cells[2] != "2" || cells[3] != "1" {
		t.Errorf("plan row for cs-quality %q, want 2 stored and 1 due", row)
	}
	next := eval[[]string](p, `[...document.querySelectorAll('#ret-next-cs-quality tbody tr')].map((r) => r.cells[0].innerText)`)
	if len(next) != 2 || next[0] != ids[0] {
		t.Errorf("cs-quality loses next %v, want %s first of 2", next, ids[0])
	}
	if !eval[bool](p, `!!document.querySelector('#ret-purge')`) {
		t.Error("no purge button for a privacy officer")
	}
	p.accessible("the retention plan")
	p.narrow("the retention plan")
	p.keep(dir, "privacy-retention.png")

	// An auditor reads the plan but has no purge.
	a := &page{t: t, ctx: browser(t)}
	a.signIn(e.srv.URL+"/", "aud")
	a.open("#/retention", "#ret-plan")
	if eval[bool](a, `!!document.querySelector('#ret-purge')`) {
		t.Error("purge button shown to an auditor")
	}
}

// TestPrivacyBulkHoldUI: holding every recording of a caller from the
// holds page holds exactly those, says how many, lists them as held,
// and the audit entries name the token's holder.
func TestPrivacyBulkHoldUI(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	now := time.Now().Add(-time.Hour)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", started: now},
		rec{purpose: "complaints", caller: "0312345678", started: now.Add(-time.Minute)},
		rec{purpose: "cs-quality", caller: "0399999999", started: now.Add(-2 * time.Minute)})
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "po")
	p.open("#/holds", "#bulk-form")
	p.until("the empty list", `document.querySelector('#holds-list').textContent.includes('No recording is held')`)
	before := e.head()
	p.do("hold the caller",
		chromedp.SendKeys(chromedp.CSS("#bulk-caller"), "03-1234-5678"),
		chromedp.SendKeys(chromedp.CSS("#bulk-reason"), "訴訟対応 case 7"),
		chromedp.Click(chromedp.CSS("#bulk-do")))
	p.until("the result", `document.querySelector('#bulk-result').textContent.includes('2')`)
	if h := e.held(ids...); !h[ids[0]] || !h[ids[1]] || h[ids[2]] {
		t.Errorf("held %v, want the caller's two only", h)
	}
	p.until("the list", `document.querySelectorAll('#holds-table tbody tr').length === 2`)
	holds := 0
	for _, a := range e.actions(before) {
		if a.action == "hold" {
			holds++
			if a.actor != "po" {
				t.Errorf("hold entry by %q, want po (the token's name)", a.actor)
			}
		}
	}
	if holds != 2 {
		t.Errorf("got %d hold audit entries, want 2", holds)
	}
	p.accessible("the holds page")
	p.narrow("the holds page")
	p.keep(dir, "privacy-holds.png")

	// A supervisor has no holds page: the route falls back to search.
	s := &page{t: t, ctx: browser(t)}
	s.signIn(e.srv.URL+"/", "sup")
	if eval[bool](s, `!document.querySelector('#nav-holds').hidden || !document.querySelector('#nav-requests').hidden`) {
		t.Error("privacy nav shown to a supervisor")
	}
}

// TestPrivacyRetentionPreviewUI: on the retention page a privacy
// officer previews cs-quality at 30d: the page says 90d → 30d with the
// API's figures and lists the recording that would be due at once and
// the held one (kept), with their new dates; nothing's date changes, the
// ask is audited, a bad limit gets the API's refusal, and Japanese works.
func TestPrivacyRetentionPreviewUI(t *testing.T) {
	e := newRetentionEnv(t)
	now := time.Now()
	ids := e.seed(
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now.AddDate(0, 0, -40)},
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now.AddDate(0, 0, -35)},
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, started: now.AddDate(0, 0, -10)})
	if code, b := e.post("po", http.MethodPost, "/api/v1/holds", "application/json", `{"ids":["`+ids[1]+`"],"on":true,"reason":"訴訟"}`); code != http.StatusOK {
		t.Fatalf("hold: %d %s", code, b)
	}
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "po")
	p.open("#/retention", "#prev-form")
	before := e.head() // the plan the page read is audited too
	p.do("preview 30d",
		chromedp.SetValue(chromedp.CSS("#prev-purpose"), "cs-quality"),
		chromedp.SendKeys(chromedp.CSS("#prev-limit"), "30d"),
		chromedp.Click(chromedp.CSS("#prev-do")))
	p.until("the preview", `!!document.querySelector('#prev-says')`)
	if says := p.text("#prev-says"); !strings.Contains(says, "cs-quality: 90d → 30d") || !strings.Contains(says, "Of 3 stored, 3 would be kept less long") ||
		!strings.Contains(says, "1 would be due at once (1 of them held") {
		t.Errorf("preview says %q", says)
	}
	rows := eval[[]string](p, `[...document.querySelectorAll('#prev-due tbody tr')].map((r) => r.cells[0].innerText + '|' + r.cells[4].innerText)`)
	if !slices.Contains(rows, ids[0]+"|") || !slices.Contains(rows, ids[1]+"|Yes") || len(rows) != 2 {
		t.Errorf("preview lists %q, want %s due and %s held", rows, ids[0], ids[1])
	}
	if n := len(entries(e, before, audit.ActionRetentionPlan)); n != 1 {
		t.Errorf("got %d retention-plan entries for the preview, want 1", n)
	}
	for _, id := range ids {
		r, err := e.cat.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if want := r.StartedAt.AddDate(0, 0, 90); r.RetainUntil.Sub(want).Abs() > 24*time.Hour {
			t.Errorf("%s: retained until %v after the preview, want its 90d date", id, r.RetainUntil)
		}
	}
	p.accessible("the retention preview")
	p.narrow("the retention preview")

	p.do("a bad limit",
		chromedp.SetValue(chromedp.CSS("#prev-limit"), "30x"),
		chromedp.Click(chromedp.CSS("#prev-do")))
	p.until("the refusal", `document.querySelector('#status').textContent.includes('retention')`)
	p.do("in Japanese", chromedp.Click(chromedp.CSS("#lang")))
	if h := p.text("#ret-preview h2"); h != "保存期間の変更を試算" {
		t.Errorf("Japanese heading %q", h)
	}
	p.shot("retention-preview.png")
}
