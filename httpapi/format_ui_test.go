package httpapi

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserFormats: a recording stored as each compressed format plays
// in headless Chromium through the API (the element's time advances) with
// its waveform of 4 s drawn (the API decodes flac and opus too), its
// bytes fetched by the page decode to audio with the caller's tone on
// the left and the agent's on the right, and caller-only listening sets
// the gains that route the left channel alone.
func TestBrowserFormats(t *testing.T) {
	for _, format := range []string{"g711", "flac", "opus"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			c := *e.cfg.Load()
			c.Purposes = append(c.Purposes[:0:0], c.Purposes...)
			for i := range c.Purposes {
				if c.Purposes[i].Name == "cs-quality" {
					c.Purposes[i].AudioFormat = format
				}
			}
			e.cfg.Store(&c)
			id := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 4})[0]
			r, err := e.cat.Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]string{"g711": ".wav", "flac": ".flac", "opus": ".opus"}[format]; !strings.HasSuffix(r.ObjectKey, want) {
				t.Fatalf("stored as %q, want %s", r.ObjectKey, want)
			}
			p := &page{t: t, ctx: browser(t)}
			p.signIn(e.srv.URL+"/", "sup")
			link := `#results a[href="#/recordings/` + id + `"]`
			p.do("open and play",
				chromedp.Click(chromedp.CSS("#search-btn")),
				chromedp.WaitVisible(chromedp.CSS(link)),
				chromedp.Click(chromedp.CSS(link)),
				chromedp.WaitVisible(chromedp.CSS("#r-meta dt")),
				chromedp.SendKeys(chromedp.CSS("#reason"), "format check"),
				chromedp.Click(chromedp.CSS("#play")),
			)
			p.until("the audio to play", `(() => { const a = document.querySelector('#audio'); return !a.paused && a.currentTime > 0.3; })()`)
			// The waveform is drawn from the stored format, decoded by the API.
			p.until("the waveform", `(() => { const w = document.querySelector('#waveform'); return !w.hidden && w.dataset.buckets === '600' && Math.abs(w.dataset.seconds - 4) < 0.05; })()`)
			p.shot("ui-waveform-" + format + ".png")
			t1 := eval[float64](p, `document.querySelector('#audio').currentTime`)
			p.until("the audio time to advance", fmt.Sprintf(`document.querySelector('#audio').currentTime > %f + 0.3`, t1))
			p.do("hear the caller alone", chromedp.Click(chromedp.CSS(`input[name="ch"][value="caller"]`)))
			if g := eval[string](p, `document.querySelector('#channels').dataset.gains`); g != "1,1,0,0" {
				t.Errorf("got gains %v for the caller alone, want 1,1,0,0", g)
			}
			// The page decodes the bytes it was served: the seeded tones are
			// 440 Hz on the caller's channel and 660 Hz on the agent's.
			p.do("decode the served audio", chromedp.Evaluate[chromedp.Void](`window.__dec = null; fetch(document.querySelector('#audio').src)
				.then((r) => r.arrayBuffer()).then((b) => new OfflineAudioContext(2, 8000, 8000).decodeAudioData(b))
				.then((buf) => { const rms = (c) => { const d = buf.getChannelData(c); let s = 0; for (const v of d) s += v * v; return Math.sqrt(s / d.length); };
					window.__dec = {channels: buf.numberOfChannels, seconds: buf.duration, left: rms(0), right: rms(1)}; })
				.catch((e) => { window.__dec = {error: String(e)}; }); 0`))
			p.until("the page to decode the audio", `window.__dec !== null`)
			type decoded struct {
				Channels    int     `json:"channels"`
				Seconds     float64 `json:"seconds"`
				Left, Right float64
				Error       string `json:"error"`
			}
			d := eval[decoded](p, `window.__dec`)
			t.Logf("Chromium decoded %+v", d)
			if d.Error != "" || d.Channels != 2 || d.Seconds < 3.9 || d.Left < 0.1 || d.Right < 0.1 {
				t.Errorf("Chromium decoded %+v, want 2 channels of 4 s with both tones (rms ≈ 0.17)", d)
			}
		})
	}
}
