package httpapi

import (
	"fmt"
	"math"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPlayer: once playing, the recording's waveform (computed by
// the API, audited with the reason) is drawn for both channels; a click
// at three quarters of it seeks there; the speed list sets the playback
// rate; ±10 s and the keys j, l, k and > move, pause and speed up.
func TestBrowserPlayer(t *testing.T) {
	e := newEnv(t)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 40})
	before := e.head()
	p := &page{t: t, ctx: browser(t)}
	p.do("open", chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	p.accessible("the sign-in page")
	p.signIn(e.srv.URL+"/", "sup")
	p.do("play",
		chromedp.Navigate(e.srv.URL+"/#/recordings/"+ids[0]),
		chromedp.WaitVisible(chromedp.CSS("#r-meta dt")),
		chromedp.SendKeys(chromedp.CSS("#reason"), "coaching"),
		chromedp.Click(chromedp.CSS("#play")))
	p.until("the waveform", `(() => { const w = document.querySelector('#waveform'); return !w.hidden && w.dataset.buckets === '600'; })()`)
	p.until("the audio to play", `document.querySelector('#audio').currentTime > 0.2`)
	// The tone (a quarter of full scale) is on both channels: each canvas
	// has bars reaching above the 1-pixel line that silence draws.
	tall := eval[[]int](p, `[...document.querySelectorAll('canvas.wave')].map((c) => {
		const d = c.getContext('2d').getImageData(0, 0, c.width, 24).data;
		let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })`)
	if len(tall) != 2 || tall[0] == 0 || tall[1] == 0 {
		t.Errorf("got drawn pixels near the top %v, want the tone's bars on both channels", tall)
	}
	at := func() float64 { return eval[float64](p, `document.querySelector('#audio').currentTime`) }
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s: got %.2f s, want %.1f ± %.1f", what, got, want, tol)
		}
	}
	p.do("pause, then click at three quarters of the agent's waveform",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#audio').pause()`),
		chromedp.Evaluate[chromedp.Void](`(() => { const c = document.querySelector('#wave-agent'); const r = c.getBoundingClientRect();
			c.dispatchEvent(new MouseEvent('click', { bubbles: true, clientX: r.left + 0.75 * r.width, clientY: r.top + r.height / 2 })); })()`))
	near("seek by click", at(), 30, 0.5)
	p.do("back 10 s", chromedp.Click(chromedp.CSS("#back10")))
	near("-10 s", at(), 20, 0.5)
	p.do("forward 10 s", chromedp.Click(chromedp.CSS("#fwd10")))
	near("+10 s", at(), 30, 0.5)
	p.do("j and j by key", chromedp.Focus(chromedp.CSS("#back10")), chromedp.KeyEvent("j"), chromedp.KeyEvent("j"))
	near("j j", at(), 10, 0.5)
	p.do("l by key", chromedp.KeyEvent("l"))
	near("l", at(), 20, 0.5)
	p.do("j typed in the reason field is text", chromedp.Focus(chromedp.CSS("#reason")), chromedp.KeyEvent("j"))
	near("j in a text field", at(), 20, 0.5)

	p.do("speed 1.5×",
		chromedp.SetValue(chromedp.CSS("#speed"), "1.5"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#speed').dispatchEvent(new Event('change'))`))
	if r := eval[float64](p, `document.querySelector('#audio').playbackRate`); r != 1.5 {
		t.Errorf("got playback rate %v, want 1.5", r)
	}
	p.do("> by key, then k to play", chromedp.Focus(chromedp.CSS("#back10")), chromedp.KeyEvent(">"), chromedp.KeyEvent("k"))
	if r := eval[float64](p, `document.querySelector('#audio').playbackRate`); r != 2 {
		t.Errorf("after >: got playback rate %v, want 2", r)
	}
	p.until("k to play", `!document.querySelector('#audio').paused`)
	t1 := at()
	p.until("the time to advance at 2×", fmt.Sprintf(`document.querySelector('#audio').currentTime > %f + 1`, t1))
	if n := eval[string](p, `document.querySelector('#audio').dataset.restarts || '0'`); n != "0" {
		t.Logf("the player restarted a stalled playback %s times", n)
	}
	p.do("k to pause", chromedp.KeyEvent("k"))
	p.until("paused", `document.querySelector('#audio').paused`)
	p.shot("ui-player.png")
	p.accessible("the recording page with its waveform")

	var waveforms int
	for _, en := range e.audit(before) {
		if en.Action == "waveform" && en.Target == ids[0] && en.Actor == "sup" && en.Reason == "coaching" {
			waveforms++
		}
	}
	if waveforms != 1 {
		t.Errorf("got %d waveform audit entries with the reason, want 1", waveforms)
	}
}
