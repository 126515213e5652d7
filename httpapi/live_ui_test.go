package httpapi

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kiroku-voice/kiroku/audit"
)

// TestBrowserLiveCalls: a supervisor of acme opens the live page at
// 360 px wide, sees acme's call (line, purpose, agent, consent, a
// duration that ticks), listens in with a reason: the page counts the
// audio bytes arriving, and the audit log has the listen with its
// reason; Stop ends it (listen-end audited). The page has no axe-core
// violations in English and Japanese, nor wide; screenshots of each are
// kept.
func TestBrowserLiveCalls(t *testing.T) {
	e, _ := newListenEnv(t)
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "acme-sup")
	p.do("open the live page at 360 px",
		chromedp.EmulateViewport(360, 800),
		chromedp.Navigate(e.srv.URL+"/#/live"),
		chromedp.WaitVisible(chromedp.CSS(`#live-calls tbody tr[data-id="`+acmeCall+`"]`)))
	row := p.text(`#live-calls tbody tr[data-id="` + acmeCall + `"]`)
	for _, want := range []string{"0120000001", "cs-quality", "agent-7", "Notified (recorded)", "Recording", "Listen"} {
		if !strings.Contains(row, want) {
			t.Errorf("the call's row %q lacks %q", row, want)
		}
	}
	if n := eval[int](p, `document.querySelectorAll('#live-calls tbody tr').length`); n != 1 {
		t.Errorf("got %d calls shown, want acme's alone", n)
	}
	first := p.text(`#live-calls tbody tr .live-duration`)
	p.until("the duration to tick", `document.querySelector('#live-calls tbody tr .live-duration').textContent !== '`+first+`'`)
	if w := eval[int](p, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the page is %d px wide at a 360 px viewport, want no sideways scrolling", w)
	}
	p.accessible("the live page")

	before := e.head()
	p.do("listen with a reason",
		chromedp.Click(chromedp.CSS(`#live-calls tbody tr[data-id="`+acmeCall+`"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#live-reason")),
		chromedp.SendKeys(chromedp.CSS("#live-reason"), "coaching new agent"),
		chromedp.Click(chromedp.CSS("#live-start")))
	p.until("audio bytes to arrive", `Number(document.querySelector('#live-bytes').dataset.bytes) > 44 + 16000`)
	listens := entries(e, before, audit.ActionListen)
	if len(listens) != 1 || listens[0].Reason != "coaching new agent" || listens[0].Actor != "acme-sup" || listens[0].Target != acmeCall {
		t.Errorf("got listen entries %+v, want acme-sup's with the reason", listens)
	}
	p.accessible("the live page while listening")
	p.shot("ui-live.png")
	p.do("wide", chromedp.EmulateViewport(1280, 640))
	p.accessible("the live page, wide, while listening")
	p.shot("ui-live-wide.png") // the README's picture
	p.do("narrow again", chromedp.EmulateViewport(360, 800))

	p.do("switch to Japanese", chromedp.Click(chromedp.CSS("#lang")))
	if got := p.text("#main h1"); got != "通話中の呼" {
		t.Errorf("got heading %q in Japanese", got)
	}
	if row := p.text(`#live-calls tbody tr[data-id="` + acmeCall + `"]`); !strings.Contains(row, "録音中") {
		t.Errorf("got row %q in Japanese, want 録音中", row)
	}
	if st := p.text("#status"); !strings.Contains(st, "0120000001") || strings.Contains(st, "Listening") {
		t.Errorf("got status %q after switching to Japanese, want the listening message in Japanese", st)
	}
	p.accessible("the live page in Japanese")
	p.shot("ui-live-ja.png")

	p.do("stop", chromedp.Click(chromedp.CSS("#live-stop")))
	waitUntil(t, "the listen's end in the audit log", func() bool {
		return len(entries(e, before, audit.ActionListenEnd)) == 1
	})
	p.until("the start button back", `!document.querySelector('#live-start').disabled`)
}
