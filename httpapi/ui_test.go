package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/spool"
)

// chromium returns the browser the UI tests drive, failing the test when
// it is missing (`make test` installs Debian's chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("chromium not found; `make test` installs it (Debian package chromium)")
	return ""
}

// browser starts a headless Chromium for the test and returns its context.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.WindowSize(1280, 1000),
	}
	// The whole browser lives under one deadline: chromedp stops it when
	// the first Run's context ends.
	tctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	t.Cleanup(cancel)
	actx, cancel2 := chromedp.NewExecAllocator(tctx, opts...)
	t.Cleanup(cancel2)
	ctx, cancel3 := chromedp.NewContext(actx)
	t.Cleanup(cancel3)
	return ctx
}

// page drives one tab and fails the test, with the page's text, on the
// first step that fails.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p *page) fail(what string, err error) {
	p.t.Helper()
	text, _ := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS("body")))
	p.t.Fatalf("%s: %v\npage text:\n%s", what, err, text)
}

// do runs steps in order.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.fail(what, err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fail(expr, err)
	}
	return v
}

// text returns the visible text of the element sel.
func (p *page) text(sel string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.fail("text of "+sel, err)
	}
	return v
}

// until waits for a JavaScript predicate to hold.
func (p *page) until(what, expr string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		p.fail("waiting for "+what, err)
	}
}

// screenshot saves the whole page as name under the test's temp dir
// (shot).
func (p *page) screenshot(name string) {
	p.t.Helper()
	p.shot(name)
}

// signIn opens url and signs in with the token of name.
func (p *page) signIn(url, name string) {
	p.t.Helper()
	p.do("sign in as "+name,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token(name)),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#search-form")),
	)
}

// TestBrowser drives the web UI in headless Chromium as a privacy
// officer: sign in, search, open a recording, play it (the <audio>
// element plays through the Range endpoint and its time advances), hear
// the caller alone, switch to Japanese, hold and release the recording.
// Screenshots of the search and recording pages are kept under the
// test's temp dir.
func TestBrowser(t *testing.T) {
	e := newEnv(t)
	now := time.Now().Add(-time.Hour)
	ids := e.seed(
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 6, started: now},
		rec{purpose: "cs-quality", caller: "0398765432", decision: spool.OptedOut, started: now.Add(-time.Minute)},
		rec{purpose: "complaints", caller: "0311112222", seconds: 2, started: now.Add(-2 * time.Minute)},
	)
	id := ids[0]
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "po")
	link := `#results a[href="#/recordings/` + id + `"]`
	p.do("search",
		chromedp.WaitVisible(chromedp.CSS("#caller-field")),
		chromedp.Click(chromedp.CSS("#search-btn")),
		chromedp.WaitVisible(chromedp.CSS(link)),
	)
	if rows := eval[int](p, `document.querySelectorAll('#results tbody tr').length`); rows != 3 {
		t.Errorf("got %d result rows, want 3 (the privacy officer sees both purposes)", rows)
	}
	p.screenshot("ui-search.png")

	p.do("open the recording and play it",
		chromedp.Click(chromedp.CSS(link)),
		chromedp.WaitVisible(chromedp.CSS("#r-meta dt")),
		chromedp.WaitVisible(chromedp.CSS("#hold-section")),
		chromedp.SendKeys(chromedp.CSS("#reason"), "quality review"),
		chromedp.Click(chromedp.CSS("#play")),
	)
	p.until("the audio to play", `(() => { const a = document.querySelector('#audio'); return !a.paused && a.currentTime > 0.3; })()`)
	t1 := eval[float64](p, `document.querySelector('#audio').currentTime`)
	p.until("the audio time to advance", fmt.Sprintf(`document.querySelector('#audio').currentTime > %f + 0.3`, t1))
	type audioState struct {
		Paused      bool    `json:"paused"`
		CurrentTime float64 `json:"currentTime"`
		ReadyState  int     `json:"readyState"`
		Src         string  `json:"src"`
	}
	st := eval[audioState](p, `(() => { const a = document.querySelector('#audio'); return {paused: a.paused, currentTime: a.currentTime, readyState: a.readyState, src: a.src}; })()`)
	if st.Paused || st.ReadyState < 2 || st.CurrentTime <= t1 || !strings.Contains(st.Src, "ticket=") {
		t.Errorf("got audio %+v (time %.2f before), want playing through a ticket with time advancing", st, t1)
	}
	p.do("hear the caller alone", chromedp.Click(chromedp.CSS(`input[name="ch"][value="caller"]`)))
	if g := eval[string](p, `document.querySelector('#channels').dataset.gains`); g != "1,1,0,0" {
		t.Errorf("got gains %v for the caller alone, want [1 1 0 0] (left channel to both ears)", g)
	}
	p.screenshot("ui-recording.png")
	if details := p.text("#r-meta"); !strings.Contains(details, "0312345678") {
		t.Errorf("got details %q, want the caller number unmasked for a privacy officer", details)
	}
	plays := 0
	for _, en := range e.audit(0) {
		if en.Action == "play" && en.Target == id && en.Actor == "po" && en.Reason == "quality review" && strings.Contains(en.Detail, `"via":"ticket"`) {
			plays++
		}
	}
	if plays == 0 {
		t.Error("no play audit entry for the browser's range requests")
	}

	p.do("switch to Japanese and hold",
		chromedp.Click(chromedp.CSS("#lang")),
		chromedp.SendKeys(chromedp.CSS("#hold-reason"), "訴訟のため"),
		chromedp.Click(chromedp.CSS("#hold-toggle")),
	)
	if h := p.text("#h-hold"); h != "リーガルホールド" {
		t.Errorf("got heading %q after switching language, want リーガルホールド", h)
	}
	p.until("the hold to show", `document.querySelector('#hold-state').textContent.includes('訴訟のため')`)
	r, err := e.cat.Get(t.Context(), id)
	if err != nil || !r.LegalHold || r.HoldReason != "訴訟のため" {
		t.Fatalf("after the UI's hold: got %+v, %v", r, err)
	}
	p.do("release the hold",
		chromedp.SendKeys(chromedp.CSS("#hold-reason"), "解決"),
		chromedp.Click(chromedp.CSS("#hold-toggle")),
	)
	p.until("the release to show", `document.querySelector('#hold-toggle').dataset.held === '0'`)
	if r, _ := e.cat.Get(t.Context(), id); r.LegalHold {
		t.Error("the hold was not released")
	}
}

// TestBrowserSupervisorAndAuditor: a supervisor sees masked callers and
// no hold control; an auditor reads and verifies the audit log.
func TestBrowserSupervisorAndAuditor(t *testing.T) {
	e := newEnv(t)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1}, rec{purpose: "training", caller: "0399998888", seconds: 1})
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "sup")
	callerHidden := eval[bool](p, `document.querySelector('#caller-field').hidden`)
	p.do("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token")))
	// A link to a recording leads there once signed in.
	p.do("open a recording by its link",
		chromedp.Navigate(e.srv.URL+"/#/recordings/"+ids[0]),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token("sup")),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#r-meta dt")))
	details := p.text("#r-meta")
	holdHidden := eval[bool](p, `document.querySelector('#hold-section').hidden`)
	if strings.Contains(details, "0312345678") || !strings.Contains(details, "0312****78") || !holdHidden || !callerHidden {
		t.Errorf("supervisor: got details %q, hold hidden %v, caller filter hidden %v", details, holdHidden, callerHidden)
	}

	p = &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "aud")
	p.do("open the audit log",
		chromedp.Click(chromedp.CSS("#nav-audit")),
		chromedp.WaitVisible(chromedp.CSS("#audit-table tbody tr")),
		chromedp.Click(chromedp.CSS("#verify")),
	)
	p.until("the verification", `document.querySelector('#verify-result').textContent !== ''`)
	entries := eval[int](p, `document.querySelectorAll('#audit-table tbody tr').length`)
	if v := p.text("#verify-result"); entries < 3 || !(strings.Contains(v, "intact") || strings.Contains(v, "完全")) {
		t.Errorf("auditor: got %d entries, verify %q", entries, v)
	}
	p.accessible("the audit log")
	p.shot("auditor.png")
}

// captureDownloads denies the browser's downloads (nothing is written
// to disk) and makes the page keep every Blob it turns into an object
// URL, the way the UI saves CSVs and certificates, for downloaded to
// read. A navigation that reloads the page undoes it.
func (p *page) captureDownloads() {
	p.t.Helper()
	p.do("capture downloads",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorDeny})
			return err
		}))
	eval[bool](p, `(() => {
		window.testBlobs = [];
		const make = URL.createObjectURL;
		URL.createObjectURL = (b) => { window.testBlobs.push(b); return make.call(URL, b); };
		return true;
	})()`)
}

// downloaded waits for the nth Blob (from 1) the page saved and returns
// its text.
func (p *page) downloaded(n int) string {
	p.t.Helper()
	p.until("a download", fmt.Sprintf(`window.testBlobs.length >= %d`, n))
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](fmt.Sprintf(`window.testBlobs[%d].text()`, n-1), chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail("reading the download", err)
	}
	return v
}

// noTokenInURLs fails the test if a request of the page had the token
// in its URL.
func (p *page) noTokenInURLs() {
	p.t.Helper()
	if urls := eval[[]string](p, `performance.getEntriesByType('resource').map((r) => r.name).filter((u) => u.includes('tok-'))`); len(urls) != 0 {
		p.t.Errorf("got the token in URLs %v, want it in headers only", urls)
	}
}

// withoutFirstLine drops a CSV's first line (the time it was generated).
func withoutFirstLine(s string) string {
	_, rest, _ := strings.Cut(s, "\n")
	return rest
}

// TestBrowserIncidentReport: a privacy officer's incident report on the
// supervisor who played a cs-quality and a training recording shows
// exactly the cs-quality one, with its play entry and the caller in
// clear, and says one recording was left out (training is not open to
// privacy officers); its CSV download is the API's CSV. An auditor's
// shows the training one with the caller masked and the cs-quality one
// left out, in Japanese too.
func TestBrowserIncidentReport(t *testing.T) {
	e := newEnv(t)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1}, rec{purpose: "cs-quality", caller: "0398765432", seconds: 1},
		rec{purpose: "training", caller: "0311112222", seconds: 1})
	played, trained := ids[0], ids[2]
	for _, id := range []string{played, trained} {
		if res, b := e.do("sup", http.MethodGet, "/api/v1/recordings/"+id+"/audio", map[string]string{"X-Kiroku-Reason": "complaint%20review"}); res.StatusCode != 200 {
			t.Fatalf("play: got %d %.200s", res.StatusCode, b)
		}
	}
	p := &page{t: t, ctx: browser(t)}
	report := func(who string) {
		p.t.Helper()
		p.signIn(e.srv.URL+"/", who)
		p.do("make the report on sup as "+who,
			chromedp.Click(chromedp.CSS("#nav-incidents")),
			chromedp.WaitVisible(chromedp.CSS("#inc-form")),
			chromedp.SendKeys(chromedp.CSS("#i-actor"), "sup"),
			chromedp.Click(chromedp.CSS("#inc-btn")),
			chromedp.WaitVisible(chromedp.CSS("#inc-recs tbody")),
		)
		if cur := eval[string](p, `document.querySelector('#nav-incidents').getAttribute('aria-current')`); cur != "page" {
			t.Errorf("%s: got aria-current %q on the nav entry, want page", who, cur)
		}
	}
	type shown struct {
		Recordings []string `json:"recordings"`
		Entries    []string `json:"entries"`
		Link       bool     `json:"link"`
		Callers    []string `json:"callers"`
		Withheld   string   `json:"withheld"`
	}
	read := func(id string) shown {
		return eval[shown](p, `(() => {
			const bodies = Array.from(document.querySelectorAll('#inc-recs tbody'));
			return {
				recordings: bodies.map((b) => b.dataset.id),
				entries: Array.from(document.querySelectorAll('#inc-recs tbody tr:not(:first-child)')).map((tr) => Array.from(tr.cells).slice(2).map((c) => c.textContent).join('|')),
				link: !!document.querySelector('#inc-recs a[href="#/recordings/`+id+`"]'),
				callers: Array.from(document.querySelectorAll('#inc-callers li')).map((li) => li.textContent),
				withheld: document.querySelector('#inc-withheld').textContent,
			};
		})()`)
	}

	report("po")
	withheld := "1 recording(s) touched are left out: their purposes are not open to your roles."
	got := read(played)
	want := shown{Recordings: []string{played}, Entries: []string{"sup|play|complaint review"}, Link: true, Callers: []string{"0312345678"}, Withheld: withheld}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("privacy officer: got %+v, want %+v", got, want)
	}
	p.screenshot("ui-incident.png")
	p.accessible("the incident report")
	p.captureDownloads()
	p.do("download the CSV", chromedp.Click(chromedp.CSS("#inc-csv")))
	csv := p.downloaded(1)
	_, apiCSV := e.do("po", http.MethodGet, "/api/v1/incidents?actor=sup&format=csv", nil)
	if withoutFirstLine(csv) != withoutFirstLine(string(apiCSV)) || !strings.Contains(csv, "0312345678") || strings.Contains(csv, trained) {
		t.Errorf("downloaded CSV:\n%s\nwant the API's:\n%s", csv, apiCSV)
	}
	p.until("the download to be said", `document.querySelector('#status').textContent.includes('incident-report.csv')`)
	p.noTokenInURLs()

	p.do("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token")))
	report("aud")
	got = read(trained)
	want = shown{Recordings: []string{trained}, Entries: []string{"sup|play|complaint review"}, Link: true, Callers: []string{"0311****22"}, Withheld: withheld}
	if main := p.text("#main"); fmt.Sprint(got) != fmt.Sprint(want) || strings.Contains(main, "0311112222") || strings.Contains(main, played) {
		t.Errorf("auditor: got %+v, want %+v and the caller nowhere in clear", got, want)
	}
	p.do("switch to Japanese", chromedp.Click(chromedp.CSS("#lang")))
	p.until("the report in Japanese", `document.querySelector('#h-inc-report').textContent === '報告' &&
		document.querySelector('#inc-figures dt:nth-of-type(2)').textContent === '録音' &&
		document.querySelector('#inc-callers li').textContent === '0311****22' &&
		document.querySelector('#inc-withheld').textContent.startsWith('対象となった録音のうち 1 件は除外')`)
}

// TestBrowserContractEnds: a run made through the API is listed on the
// Contract ends page; its page shows the certificate as text and
// downloads the JSON certificate as the API gives it; an admin's dry run
// shows the plan's figures and the API's error for an unknown client;
// no page has a button that starts or confirms a run; an auditor reads
// the runs but has no dry run.
func TestBrowserContractEnds(t *testing.T) {
	e := newS3Env(t, catalogtest.New(t, catalog.SQLite))
	seedAcme(t, e.env)
	res, b := e.send("acme-adm", http.MethodPost, "/api/v1/clients/acme/contract-end",
		map[string]any{"target": map[string]any{"kind": "s3", "bucket": returnBucket, "prefix": "returns/2026"}})
	var cert contract.Certificate
	if err := json.Unmarshal(b, &cert); res.StatusCode != 200 || err != nil {
		t.Fatalf("run: got %d %s", res.StatusCode, b)
	}
	url := e.env.srv.URL + "/"
	p := &page{t: t, ctx: browser(t)}
	p.signIn(url, "adm")
	row := `#ce-runs tr[data-id="` + cert.Run + `"]`
	buttons := `Array.from(document.querySelectorAll('#main button')).map((b) => b.id)`
	p.do("open the contract ends", chromedp.Click(chromedp.CSS("#nav-contracts")), chromedp.WaitVisible(chromedp.CSS(row)))
	if r := p.text(row); !strings.Contains(r, "acme") || !strings.Contains(r, "done (certified)") || !strings.Contains(r, "destroyed 4") || !strings.Contains(r, "held (kept) 1") {
		t.Errorf("got run row %q", r)
	}
	if hidden := eval[bool](p, `document.querySelector('#nav-incidents').hidden`); !hidden {
		t.Error("an admin sees the incident report in the nav")
	}

	p.do("a dry run of an unknown client",
		chromedp.SendKeys(chromedp.CSS("#ce-client"), "nosuch"),
		chromedp.Click(chromedp.CSS("#ce-plan-btn")))
	p.until("the API's error", `document.querySelector('#status').textContent === 'no such client'`)
	p.do("a dry run of globex",
		chromedp.SetValue(chromedp.CSS("#ce-client"), "globex"),
		chromedp.Click(chromedp.CSS("#ce-plan-btn")),
		chromedp.WaitVisible(chromedp.CSS("#ce-plan dt")))
	plan := eval[map[string]string](p, `Object.fromEntries(Array.from(document.querySelectorAll('#ce-plan dt')).map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))`)
	if plan["Client"] != "globex — Globex" || plan["Recordings to return"] != "1" || plan["To destroy once returned"] != "1" || plan["Under legal hold: returned but kept"] != "0" {
		t.Errorf("got plan %v", plan)
	}
	p.accessible("the contract ends with a dry run")
	if ids := eval[[]string](p, buttons); fmt.Sprint(ids) != "[ce-plan-btn]" {
		t.Errorf("got buttons %v on the list, want the dry run's only", ids)
	}

	p.do("open the run",
		chromedp.Click(chromedp.CSS(row+" a")),
		chromedp.WaitVisible(chromedp.CSS("#ce-cert")))
	if txt := p.text("#ce-cert"); !strings.Contains(txt, "消去 / Destroyed: 4") || !strings.Contains(txt, cert.Run) {
		t.Errorf("got certificate text:\n%s", txt)
	}
	if ids := eval[[]string](p, buttons); fmt.Sprint(ids) != "[ce-json]" {
		t.Errorf("got buttons %v on the run, want the certificate's download only", ids)
	}
	p.screenshot("ui-contract-end.png")
	p.accessible("a contract end's page")
	p.captureDownloads()
	p.do("download the certificate", chromedp.Click(chromedp.CSS("#ce-json")))
	_, apiCert := e.do("adm", http.MethodGet, "/api/v1/contract-ends/"+cert.Run+"/certificate?format=json", nil)
	if got := p.downloaded(1); got != string(apiCert) {
		t.Errorf("downloaded certificate:\n%s\nwant the API's:\n%s", got, apiCert)
	}
	p.noTokenInURLs()

	p.do("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token")))
	p.signIn(url, "aud")
	p.do("open the contract ends as auditor", chromedp.Click(chromedp.CSS("#nav-contracts")), chromedp.WaitVisible(chromedp.CSS(row)))
	if hidden := eval[bool](p, `document.querySelector('#ce-plan-section').hidden`); !hidden {
		t.Error("an auditor is offered the dry run")
	}
}

// TestBrowserSilentChannels: a recording whose caller channel received
// no RTP reads as silent there in the results and the details, never as
// plain audio.
func TestBrowserSilentChannels(t *testing.T) {
	e := newEnv(t)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, silent: []string{"caller"}})
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "sup")
	link := `#results a[href="#/recordings/` + ids[0] + `"]`
	p.do("search", chromedp.Click(chromedp.CSS("#search-btn")), chromedp.WaitVisible(chromedp.CSS(link)))
	if row := p.text("#results tbody tr"); !strings.Contains(row, "Yes, but silent: caller") {
		t.Errorf("got result row %q, want its audio shown as silent on the caller channel", row)
	}
	p.do("open the recording", chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.CSS("#r-meta dt")))
	if details := p.text("#r-meta"); !strings.Contains(details, "No audio received") || !strings.Contains(details, "caller") {
		t.Errorf("got details %q, want the caller channel named as having received no audio", details)
	}
	p.shot("silent-channels.png")
}

// TestBrowserAgentID: a supervisor searching by agent id sees that
// agent's recording only, with the id in its row and in the details, in
// English and in Japanese; a hostile id never becomes markup.
func TestBrowserAgentID(t *testing.T) {
	e := newEnv(t)
	ids := e.seed(
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, agent: "A-1001"},
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, agent: "A-2002"},
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1},
		rec{purpose: "cs-quality", caller: "0312345678", seconds: 1, agent: `<img src=x onerror=alert(1)>`},
	)
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "sup")
	link := `#results a[href="#/recordings/` + ids[0] + `"]`
	p.do("search by agent id",
		chromedp.SendKeys(chromedp.CSS("#f-agent"), "A-1001"),
		chromedp.Click(chromedp.CSS("#search-btn")),
		chromedp.WaitVisible(chromedp.CSS(link)))
	if n := eval[int](p, `document.querySelectorAll('#results tbody tr').length`); n != 1 {
		t.Errorf("got %d result rows, want 1 (A-1001's)", n)
	}
	if cell := p.text("#results tbody tr .agent-id"); cell != "A-1001" {
		t.Errorf("got agent cell %q, want A-1001", cell)
	}
	if h := p.text("#results thead"); !strings.Contains(h, "Agent ID") {
		t.Errorf("got header %q, want an Agent ID column", h)
	}
	p.do("open the recording", chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.CSS("#r-meta dt")))
	if details := p.text("#r-meta"); !strings.Contains(details, "Agent ID") || !strings.Contains(details, "A-1001") {
		t.Errorf("got details %q, want Agent ID A-1001", details)
	}
	p.do("switch to Japanese", chromedp.Click(chromedp.CSS("#lang")))

	// All rows: the hostile id is text, and the one without an id a dash.
	p.do("back to the results", chromedp.Navigate(e.srv.URL+"/#/search"), chromedp.WaitVisible(chromedp.CSS("#search-form")))
	p.do("search all", chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-agent').value = ''`),
		chromedp.Click(chromedp.CSS("#search-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#results a[href="#/recordings/`+ids[3]+`"]`)))
	if h := p.text("#results thead"); !strings.Contains(h, "オペレーターID") {
		t.Errorf("got header %q, want the オペレーターID column", h)
	}
	cells := eval[[]string](p, `[...document.querySelectorAll('#results tbody tr .agent-id')].map((td) => td.textContent)`)
	if want := []string{`<img src=x onerror=alert(1)>`, "—", "A-2002", "A-1001"}; fmt.Sprint(cells) != fmt.Sprint(want) {
		t.Errorf("got agent cells %q, want %q", cells, want)
	}
	if n := eval[int](p, `document.querySelectorAll('#results img').length`); n != 0 {
		t.Errorf("got %d img elements in the results, want none (the id is text)", n)
	}
	p.do("open the recording in Japanese", chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.CSS("#r-meta dt")))
	p.until("the agent id in Japanese", `[...document.querySelectorAll('#r-meta dt')].some((dt) =>
		dt.textContent === 'オペレーターID' && dt.nextElementSibling.textContent === 'A-1001')`)
	p.shot("agent-id.png")
}
