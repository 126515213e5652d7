package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
)

// TestPrivacyRequestFlowsUI walks the requests a privacy officer answers
// from a request's page besides disclosure and erasure — correction,
// stop of use, resume of use, stop of provision to third parties, and a
// refusal with its reason — and checks each against the catalog and the
// audit log (the actor is the signed-in token), and the page's answer.
// The acts that restrict or refuse wait for their confirmation box.
// Every view has no axe-core violations and fits 360 px.
func TestPrivacyRequestFlowsUI(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	now := time.Now().Add(-time.Hour)
	const caller = "0312345678"
	ids := e.seed(rec{purpose: "cs-quality", caller: caller, seconds: 1, started: now},
		rec{purpose: "complaints", caller: caller, started: now.Add(-time.Minute)},
		rec{purpose: "cs-quality", caller: "0399999999", seconds: 1, started: now.Add(-2 * time.Minute)})
	mine, other := ids[:2], ids[2]
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "po")

	// state returns each recording's state in the catalog.
	state := func() map[string]string {
		out := map[string]string{}
		for _, id := range ids {
			r, err := e.cat.Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = r.State
		}
		return out
	}
	// request returns request q as the API has it.
	request := func(q string) apiclient.Request {
		var r apiclient.Request
		e.get("po", "/api/v1/requests/"+q, http.StatusOK, &r)
		return r
	}
	// acted checks the audit entries after seq of action: one per
	// recording of want, each by po and naming request q.
	acted := func(after int64, action audit.Action, q string, want []string) []audit.Entry {
		t.Helper()
		got := entries(e, after, action)
		var targets []string
		for _, en := range got {
			targets = append(targets, en.Target)
			var d struct {
				Request string `json:"request"`
			}
			json.Unmarshal([]byte(en.Detail), &d)
			if en.Actor != "po" || d.Request != q {
				t.Errorf("%s entry %+v: want actor po and request %s", action, en, q)
			}
		}
		if !slices.Equal(sorted(targets...), sorted(want...)) {
			t.Errorf("got %s entries for %v, want %v", action, targets, want)
		}
		return got
	}
	// answered checks request q is closed with outcome by po, audited so.
	answered := func(after int64, q, outcome string) apiclient.Request {
		t.Helper()
		r := request(q)
		if r.Outcome != outcome || r.Operator != "po" || r.AnsweredAt == nil {
			t.Errorf("request %s: outcome %q by %q at %v, want %s by po", q, r.Outcome, r.Operator, r.AnsweredAt, outcome)
		}
		action := audit.ActionRequestAnswered
		if outcome == "refused" {
			action = audit.ActionRequestRefused
		}
		if got := entries(e, after, action); len(got) != 1 || got[0].Actor != "po" || got[0].Target != q {
			t.Errorf("got %s entries %+v, want one by po for %s", action, got, q)
		}
		return r
	}
	// changedShown is the recording links of the page's answer, sorted.
	changedShown := func() string {
		return strings.Join(sorted(eval[[]string](p, `[...document.querySelectorAll('#req-changed a')].map((a) => a.textContent)`)...), ",")
	}
	wantShown := strings.Join(sorted(mine...), ",")

	// confirmAct opens request q, whose act waits for its box: the
	// button stays disabled and the box names the number until it is
	// ticked; then it acts, and returns the audit head from before.
	confirmAct := func(what, q string) int64 {
		t.Helper()
		p.open("#/requests/"+q, "#req-act")
		if !eval[bool](p, `document.querySelector('#req-act').disabled`) {
			t.Errorf("%s: the act is enabled before its confirmation", what)
		}
		if l := p.text(`label[for="req-act-confirm"]`); !strings.Contains(l, caller) {
			t.Errorf("%s: the confirmation says %q, want the number", what, l)
		}
		p.accessible(what)
		p.narrow(what)
		before := e.head()
		p.do("confirm and act: "+what, chromedp.Click(chromedp.CSS("#req-act-confirm")), chromedp.Click(chromedp.CSS("#req-act")))
		return before
	}

	t.Run("correction", func(t *testing.T) {
		q := e.newRequest("correction", caller)
		p.open("#/requests/"+q, "#req-correct")
		p.accessible("a correction request")
		p.narrow("a correction request")
		before := e.head()
		p.do("correct", chromedp.SendKeys(chromedp.CSS("#req-value"), "CRM-4711"), chromedp.Click(chromedp.CSS("#req-correct")))
		p.until("the answer", `!document.querySelector('#req-answer').hidden && !!document.querySelector('#req-changed')`)
		for _, id := range ids {
			ref, err := catalog.CustomerRef(t.Context(), e.cat.DB(), id)
			if want := map[bool]string{true: "CRM-4711", false: ""}[id != other]; err != nil || ref != want {
				t.Errorf("customer_ref of %s: got %q (%v), want %q", id, ref, err, want)
			}
		}
		for _, en := range acted(before, audit.ActionCorrect, q, mine) {
			if !strings.Contains(en.Detail, `"after":"CRM-4711"`) {
				t.Errorf("correct entry %s lacks the value after", en.Detail)
			}
		}
		answered(before, q, "answered")
		if got := changedShown(); got != wantShown || !strings.Contains(p.text("#req-answer"), "Recordings changed (2)") {
			t.Errorf("page answers %q with links %q, want the two recordings changed", p.text("#req-answer"), got)
		}
		if eval[bool](p, `!!document.querySelector('#req-correct') || !document.querySelector('#req-actions').hidden`) {
			t.Error("an answered correction still offers its actions")
		}
		p.accessible("an answered correction")
		p.narrow("an answered correction")
	})

	t.Run("stop of use", func(t *testing.T) {
		q := e.newRequest("stop-of-use", caller)
		before := confirmAct("a stop-of-use request", q)
		p.until("the answer", `!!document.querySelector('#req-changed')`)
		if s := state(); s[mine[0]] != catalog.StateRestricted || s[mine[1]] != catalog.StateRestricted || s[other] != catalog.StateStored {
			t.Errorf("states after the stop: %v, want the caller's two restricted", s)
		}
		acted(before, audit.ActionRestrict, q, mine)
		answered(before, q, "answered")
		if txt := p.text("#req-answer"); changedShown() != wantShown || !strings.Contains(txt, "Stored restricted when they arrive") {
			t.Errorf("page answers %q, want the two recordings and what becomes of those not stored yet", txt)
		}
		p.accessible("an answered stop of use")
		p.narrow("an answered stop of use")
	})

	t.Run("resume of use", func(t *testing.T) {
		q := e.newRequest("resume-use", caller)
		p.open("#/requests/"+q, "#req-act")
		p.accessible("a resume-use request")
		before := e.head()
		p.do("resume", chromedp.Click(chromedp.CSS("#req-act")))
		p.until("the answer", `!!document.querySelector('#req-changed')`)
		if s := state(); s[mine[0]] != catalog.StateStored || s[mine[1]] != catalog.StateStored {
			t.Errorf("states after the resume: %v, want all stored", s)
		}
		acted(before, audit.ActionUnrestrict, q, mine)
		answered(before, q, "answered")
		if txt := p.text("#req-answer"); !strings.Contains(txt, "Stored usable when they arrive") {
			t.Errorf("page answers %q", txt)
		}
		p.narrow("an answered resume of use")
	})

	t.Run("stop of provision", func(t *testing.T) {
		q := e.newRequest("stop-third-party-provision", caller)
		before := confirmAct("a stop-of-provision request", q)
		p.until("the answer", `document.querySelector('#req-answer').textContent.includes('refused from now on')`)
		answered(before, q, "answered")
		provide := func(id string) (*http.Response, []byte) {
			return e.send("po", http.MethodPost, "/api/v1/requests/provisions",
				map[string]any{"recipient": "保険会社", "legal_basis": "法令に基づく照会", "ids": []string{id}})
		}
		if res, b := provide(mine[0]); res.StatusCode != http.StatusConflict || !strings.Contains(string(b), "stop third-party provision") {
			t.Errorf("provision of the caller's recording after the stop: %d %s, want 409 naming the stop", res.StatusCode, b)
		}
		if res, b := provide(other); res.StatusCode != http.StatusOK {
			t.Errorf("provision of another caller's recording: %d %.200s, want 200", res.StatusCode, b)
		}
		p.accessible("an answered stop of provision")
	})

	t.Run("refusal", func(t *testing.T) {
		q := e.newRequest("stop-of-use", caller)
		p.open("#/requests/"+q, "#req-refuse")
		if !eval[bool](p, `document.querySelector('#req-refuse').disabled`) {
			t.Error("refuse enabled before its confirmation")
		}
		before := e.head()
		p.do("refuse without a reason", chromedp.Click(chromedp.CSS("#req-refuse-confirm")), chromedp.Click(chromedp.CSS("#req-refuse")))
		p.until("the API's refusal", `document.querySelector('#status').className === 'problem' && document.querySelector('#status').textContent.includes('reason')`)
		if r := request(q); r.Outcome != "" || len(entries(e, before, audit.ActionRequestRefused)) != 0 {
			t.Fatalf("request after a refusal without a reason: %+v, want it open and nothing audited", r)
		}
		p.accessible("a refusal without a reason")
		const why = "代理権を確認できないため (no power of attorney)"
		p.do("refuse with a reason", chromedp.SendKeys(chromedp.CSS("#req-refuse-reason"), why), chromedp.Click(chromedp.CSS("#req-refuse")))
		p.until("the refusal", `document.querySelector('#req-meta').textContent.includes('Refused')`)
		r := answered(before, q, "refused")
		if got := entries(e, before, audit.ActionRequestRefused); len(got) != 1 || got[0].Reason != why {
			t.Errorf("request-refused entries %+v, want the reason %q", got, why)
		}
		var res struct {
			Reason string `json:"reason"`
		}
		if json.Unmarshal(r.Result, &res); res.Reason != why {
			t.Errorf("refused request's result %s, want the reason %q", r.Result, why)
		}
		if s := state(); s[mine[0]] != catalog.StateStored || s[mine[1]] != catalog.StateStored {
			t.Errorf("states after a refused stop of use: %v, want them untouched", s)
		}
		if txt := p.text("#req-answer"); !strings.Contains(txt, why) {
			t.Errorf("page answers %q, want the reason", txt)
		}
		p.accessible("a refused request")
		p.narrow("a refused request")
		p.keep(dir, "privacy-refused.png")
		p.do("Japanese", chromedp.Click(chromedp.CSS("#lang")))
		if txt := p.text("#req-answer"); !strings.Contains(txt, "拒否の理由") || !strings.Contains(txt, why) {
			t.Errorf("Japanese answer %q", txt)
		}
		p.accessible("a refused request in Japanese")
		p.do("English", chromedp.Click(chromedp.CSS("#lang")))
	})
}

// TestPrivacyBulkHoldZoneUI: the holds form reads its time range in the
// user's zone setting, not the browser's: with the browser in New York
// and the setting Asia/Tokyo, 09:00–10:00 holds the recordings started
// in that hour in Tokyo — not the one started at 09:30 in New York, nor
// the one at 10:00 (the end is excluded) — the audit entry has the
// range as those instants, and the page names the zone and shows the
// range applied in it.
func TestPrivacyBulkHoldZoneUI(t *testing.T) {
	e := newEnv(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(tokyo).AddDate(0, 0, -2)
	from := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, tokyo)
	to := from.Add(time.Hour)
	inNY := time.Date(day.Year(), day.Month(), day.Day(), 9, 30, 0, 0, newYork)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", started: from.Add(30 * time.Minute)},
		rec{purpose: "cs-quality", caller: "0312345679", started: inNY},
		rec{purpose: "cs-quality", caller: "0312345670", started: to},
		rec{purpose: "cs-quality", caller: "0312345671", started: from})
	p := &page{t: t, ctx: browser(t)}
	p.do("the browser in New York", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
		return err
	}))
	p.signIn(e.srv.URL+"/", "po")
	if z := eval[string](p, `browserZone`); z != "America/New_York" {
		t.Fatalf("the browser's zone is %q, want the emulated America/New_York", z)
	}
	p.do("choose Asia/Tokyo",
		chromedp.SetValue(chromedp.CSS("#tz"), "Asia/Tokyo"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#tz').dispatchEvent(new Event('change'))`))
	p.open("#/holds", "#bulk-form")
	if z := p.text("#bulk-zone"); !strings.Contains(z, "Asia/Tokyo") {
		t.Errorf("the form's zone note says %q, want Asia/Tokyo", z)
	}
	if d := eval[string](p, `document.querySelector('#bulk-from').getAttribute('aria-describedby')`); d != "bulk-zone" {
		t.Errorf("the from field is described by %q, want the zone note", d)
	}
	before := e.head()
	const layout = "2006-01-02T15:04"
	p.do("hold the hour",
		chromedp.SetValue(chromedp.CSS("#bulk-from"), from.Format(layout)),
		chromedp.SetValue(chromedp.CSS("#bulk-to"), to.Format(layout)),
		chromedp.SendKeys(chromedp.CSS("#bulk-reason"), "苦情調査 09:00-10:00 JST"),
		chromedp.Click(chromedp.CSS("#bulk-do")))
	p.until("the result", `document.querySelector('#bulk-result').textContent.includes('recordings changed')`)
	if h := e.held(ids...); !h[ids[0]] || h[ids[1]] || h[ids[2]] || !h[ids[3]] {
		t.Errorf("held %v, want %s and %s (09:00 and 09:30 in Tokyo) only", h, ids[3], ids[0])
	}
	holds := entries(e, before, audit.ActionHold)
	if len(holds) != 2 {
		t.Fatalf("got %d hold entries, want 2", len(holds))
	}
	for _, en := range holds {
		var d struct{ From, To time.Time }
		if err := json.Unmarshal([]byte(en.Detail), &d); err != nil || !d.From.Equal(from) || !d.To.Equal(to) || en.Actor != "po" {
			t.Errorf("hold entry %+v: range %v – %v (%v), want %v – %v by po", en, d.From, d.To, err, from.UTC(), to.UTC())
		}
	}
	// The range as applied, in the zone setting (en-GB names +09:00 GMT+9).
	res := p.text("#bulk-result")
	if !strings.Contains(res, "2 recordings changed") || !strings.Contains(res, " 9:00:00") || !strings.Contains(res, " 10:00:00") ||
		!(strings.Contains(res, "GMT+9") || strings.Contains(res, "JST")) {
		t.Errorf("result says %q, want 2 changed from 09:00 to 10:00 in Tokyo", res)
	}
	p.accessible("the holds page with a range")
	p.narrow("the holds page with a range")
	p.do("Japanese", chromedp.Click(chromedp.CSS("#lang")))
	if z := p.text("#bulk-zone"); !strings.Contains(z, "Asia/Tokyo") || !strings.Contains(z, "タイムゾーン") {
		t.Errorf("Japanese zone note %q", z)
	}
	p.shot("bulk-hold-zone.png")
}

// TestBrowserFormsReadZone: the audit log's and the incident report's
// time ranges are read in the user's zone setting, not the browser's:
// with the browser in New York and the setting Asia/Tokyo, 09:00 and
// 10:00 go to the API as those instants in Tokyo, and each form names
// the zone it reads.
func TestBrowserFormsReadZone(t *testing.T) {
	e := newEnv(t)
	e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1})
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 5, 9, 0, 0, 0, tokyo)
	to := from.Add(time.Hour)
	p := &page{t: t, ctx: browser(t)}
	p.do("the browser in New York", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
		return err
	}))
	p.signIn(e.srv.URL+"/", "aud")
	p.do("choose Asia/Tokyo",
		chromedp.SetValue(chromedp.CSS("#tz"), "Asia/Tokyo"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#tz').dispatchEvent(new Event('change'))`))
	const layout = "2006-01-02T15:04"
	for _, c := range []struct{ name, hash, form, prefix, button, path string }{
		{"audit log", "#/audit", "#audit-form", "a", "#audit-form button[type=submit]", "/api/v1/audit?"},
		{"incident report", "#/incidents", "#inc-form", "i", "#inc-btn", "/api/v1/incidents?"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p.t = t
			p.open(c.hash, c.form)
			if z := p.text("#" + c.prefix + "-zone"); !strings.Contains(z, "Asia/Tokyo") {
				t.Errorf("the zone note says %q, want Asia/Tokyo", z)
			}
			p.do("search the hour",
				chromedp.Evaluate[chromedp.Void](`performance.clearResourceTimings()`),
				chromedp.SetValue(chromedp.CSS("#"+c.prefix+"-from"), from.Format(layout)),
				chromedp.SetValue(chromedp.CSS("#"+c.prefix+"-to"), to.Format(layout)),
				chromedp.Click(chromedp.CSS(c.button)))
			p.until("the request", `performance.getEntriesByType('resource').some((r) => r.name.includes('`+c.path+`'))`)
			urls := eval[[]string](p, `performance.getEntriesByType('resource').map((r) => r.name).filter((u) => u.includes('`+c.path+`'))`)
			u, err := url.Parse(urls[len(urls)-1])
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			gotFrom, err1 := time.Parse(time.RFC3339, q.Get("from"))
			gotTo, err2 := time.Parse(time.RFC3339, q.Get("to"))
			if err1 != nil || err2 != nil || !gotFrom.Equal(from) || !gotTo.Equal(to) {
				t.Errorf("the page asked for %s – %s, want %v – %v", q.Get("from"), q.Get("to"), from.UTC(), to.UTC())
			}
			p.accessible("the " + c.name + " with its zone note")
		})
	}
	p.t = t
	p.do("Japanese", chromedp.Click(chromedp.CSS("#lang")))
	if z := p.text("#i-zone"); !strings.Contains(z, "Asia/Tokyo") || !strings.Contains(z, "タイムゾーン") {
		t.Errorf("Japanese zone note %q", z)
	}
	p.shot("forms-zone.png")
}
