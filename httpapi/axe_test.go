package httpapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeVersion is the axe-core make test-deps fetches (AXE_VERSION in the
// Makefile).
const axeVersion = "4.10.3"

// axeScript returns axe-core's script, failing the test when make
// test-deps has not fetched it.
func axeScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", ".tools", "axe-core-"+axeVersion, "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v; make test-deps fetches it from the npm registry", err)
	}
	return string(b)
}

// accessible runs axe-core on the page as it is and fails the test on
// any violation, naming the rule and the elements.
func (p *page) accessible(what string) {
	p.t.Helper()
	if v := p.violations(what); len(v) > 0 {
		p.t.Errorf("axe-core on %s: %d violations:\n%s", what, len(v), strings.Join(v, "\n"))
	}
}

// violations are axe-core's findings on the page as it is.
func (p *page) violations(what string) []string {
	p.t.Helper()
	if !eval[bool](p, `typeof window.axe === 'object'`) {
		if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[chromedp.Void](axeScript(p.t))); err != nil {
			p.fail("loading axe-core", err)
		}
	}
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`axe.run(document).then((r) => r.violations.map((v) =>
		v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail("axe-core on "+what, err)
	}
	return v
}

// TestAxeCatches: the check finds what it is for — an image without a
// text alternative and an unlabelled field added to the sign-in page.
func TestAxeCatches(t *testing.T) {
	e := newEnv(t)
	p := &page{t: t, ctx: browser(t)}
	p.do("open", chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#main').append(Object.assign(document.createElement('img'), {src: 'data:,'}), document.createElement('input'))`))
	got := strings.Join(p.violations("a broken sign-in page"), "\n")
	for _, rule := range []string{"image-alt", "label"} {
		if !strings.Contains(got, rule+" (") {
			t.Errorf("axe-core did not report %s; it said:\n%s", rule, got)
		}
	}
}
