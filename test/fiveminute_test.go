package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// inNamespace is set in the copy of the test that runs in a network
// namespace of its own, to the folder its screenshot goes to.
const inNamespace = "KIROKU_FIVE_MINUTE_SHOTS"

// TestFiveMinutePath walks the README's first five minutes on a fresh
// folder: make build, bin/kirokud on its embedded defaults, the README's
// demo call, sign-in with the first-run token kirokud printed, the
// recording found and played in Chromium — the page's audio element
// advances, and the bytes the page fetched decode (Web Audio) to sound
// on both channels. The embedded defaults listen on fixed ports
// (5060, 8091, 8443), so the test runs again in a network namespace of
// its own (unshare), where nothing else holds them.
func TestFiveMinutePath(t *testing.T) {
	shots := os.Getenv(inNamespace)
	if shots == "" {
		shots = t.TempDir()
		cmd := exec.CommandContext(t.Context(), "unshare", "--user", "--map-root-user", "--net",
			os.Args[0], "-test.run=^TestFiveMinutePath$", "-test.v", "-test.timeout=8m")
		cmd.Env = append(os.Environ(), inNamespace+"="+shots)
		out, err := cmd.CombinedOutput()
		t.Logf("in its own network namespace:\n%s", out)
		if err != nil {
			t.Fatalf("unshare: %v", err)
		}
		t.Logf("screenshot: %s", filepath.Join(shots, "five-minutes.png"))
		return
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v %s", err, out)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}

	// make build
	bin := t.TempDir()
	if out, err := exec.CommandContext(t.Context(), "make", "-C", root, "build", "BIN="+bin).CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	for _, b := range []string{"kirokud", "kirokuctl"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("make build: %v", err)
		}
	}

	// bin/kirokud, in a fresh folder, on the embedded defaults.
	work := t.TempDir()
	k := startKirokud(t, filepath.Join(bin, "kirokud"), work)
	k.waitFor(t, "kirokud: web UI at http://127.0.0.1:8443/")
	m := regexp.MustCompile(`\n    (krk_[A-Za-z0-9_-]{43})\n`).FindStringSubmatch(k.stderr.String())
	if m == nil {
		t.Fatalf("kirokud did not show the first-run token:\n%s", k.stderr.String())
	}
	tok := m[1]
	file := filepath.Join(work, "kiroku-data", "first-run-token")
	b, err := os.ReadFile(file)
	if fi, _ := os.Stat(file); err != nil || string(b) != tok+"\n" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("got %s %q (%v), want the token shown, at mode 0600", file, b, err)
	}

	// The README's demo call, as written there, from the repository's
	// folder.
	found := regexp.MustCompile(`(?m)^ *(sipp -sf demo/caller\.xml .*)$`).FindSubmatch(readme)
	if found == nil {
		t.Fatal("README.md has no demo call (a line beginning sipp -sf demo/caller.xml)")
	}
	line := string(found[1])
	args := strings.Fields(line)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	sipp := exec.CommandContext(ctx, args[0], args[1:]...)
	sipp.Dir = root
	if out, err := sipp.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}

	// The recording is stored, then found and played in Chromium.
	var id string
	deadline := time.Now().Add(60 * time.Second)
	for id == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no recording stored after the call; kirokud said:\n%s", k.stderr.String())
		}
		id = storedID(t, tok)
		time.Sleep(200 * time.Millisecond)
	}
	p := openChromium(t)
	link := `#results a[href="#/recordings/` + id + `"]`
	p.do("sign in with the first-run token and find the recording",
		chromedp.Navigate("http://127.0.0.1:8443/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), tok),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#search-form")),
		chromedp.Click(chromedp.CSS("#search-btn")),
		chromedp.WaitVisible(chromedp.CSS(link)),
		chromedp.Click(chromedp.CSS(link)),
		chromedp.WaitVisible(chromedp.CSS("#r-meta dt")),
		chromedp.SendKeys(chromedp.CSS("#reason"), "first call"),
		chromedp.Click(chromedp.CSS("#play")),
	)
	p.until("the audio to play", `(() => { const a = document.querySelector('#audio'); return !a.paused && a.currentTime > 0.5; })()`)
	t1 := eval[float64](p, `document.querySelector('#audio').currentTime`)
	p.until("the audio time to advance", fmt.Sprintf(`document.querySelector('#audio').currentTime > %f + 0.5`, t1))
	type decoded struct {
		Channels int       `json:"channels"`
		Seconds  float64   `json:"seconds"`
		RMS      []float64 `json:"rms"`
		Bytes    int       `json:"bytes"`
	}
	got := eval[decoded](p, `(async () => {
		const b = await (await fetch(document.querySelector('#audio').src)).arrayBuffer();
		const buf = await new OfflineAudioContext(2, 8000, 8000).decodeAudioData(b.slice(0));
		const rms = [];
		for (let c = 0; c < buf.numberOfChannels; c++) {
			const d = buf.getChannelData(c);
			let s = 0;
			for (const v of d) s += v * v;
			rms.push(Math.sqrt(s / d.length));
		}
		return { channels: buf.numberOfChannels, seconds: buf.duration, rms, bytes: b.byteLength };
	})()`, chromedp.EvalAwaitPromise)
	// The chime plays at about a third of full scale 60 % of the time:
	// an RMS near 0.17; silence or comfort noise is below 0.01.
	if got.Channels != 2 || got.Seconds < 5 || len(got.RMS) != 2 || got.RMS[0] < 0.05 || got.RMS[1] < 0.05 {
		t.Errorf("the fetched audio decodes to %+v; want two channels of several seconds, both with sound", got)
	}
	t.Logf("played %s: %+v", id, got)
	p.screenshot(filepath.Join(shots, "five-minutes.png"))

	// A second start shows no token and keeps the file.
	k.stop(t)
	k = startKirokud(t, filepath.Join(bin, "kirokud"), work)
	k.waitFor(t, "kirokud: web UI at")
	if strings.Contains(k.stderr.String(), tok) {
		t.Error("the second start showed the token again")
	}
	if b2, _ := os.ReadFile(file); !bytes.Equal(b2, b) {
		t.Errorf("the second start rewrote %s", file)
	}
	k.stop(t)
}

// kirokud is a running bin/kirokud.
type kirokud struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

func startKirokud(t *testing.T, path, dir string) *kirokud {
	t.Helper()
	k := &kirokud{cmd: exec.Command(path), stderr: &syncBuffer{}, done: make(chan error, 1)}
	k.cmd.Dir = dir
	k.cmd.Stdout, k.cmd.Stderr = k.stderr, k.stderr
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { k.done <- k.cmd.Wait() }()
	t.Cleanup(func() {
		k.cmd.Process.Kill()
		<-k.done
	})
	return k
}

func (k *kirokud) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(k.stderr.String(), s) {
		select {
		case err := <-k.done:
			k.done <- err
			t.Fatalf("kirokud exited (%v) before saying %q:\n%s", err, s, k.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("kirokud never said %q:\n%s", s, k.stderr.String())
		}
	}
}

func (k *kirokud) stop(t *testing.T) {
	t.Helper()
	k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-k.done:
		k.done <- err
		if err != nil {
			t.Fatalf("kirokud after SIGTERM: %v\n%s", err, k.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("kirokud did not stop on SIGTERM")
	}
}

// storedID returns the id of the one recording the API lists, or "".
func storedID(t *testing.T, tok string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://127.0.0.1:8443/api/v1/recordings", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	var page struct {
		Recordings []struct {
			ID string `json:"id"`
		} `json:"recordings"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&page) != nil || len(page.Recordings) != 1 {
		return ""
	}
	return page.Recordings[0].ID
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// page drives one Chromium tab, failing the test with the page's text on
// the first step that fails.
type page struct {
	t   *testing.T
	ctx context.Context
}

func openChromium(t *testing.T) *page {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found; `make test` installs it (Debian package chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.WindowSize(1280, 1000),
	}
	tctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	t.Cleanup(cancel)
	actx, cancel2 := chromedp.NewExecAllocator(tctx, opts...)
	t.Cleanup(cancel2)
	ctx, cancel3 := chromedp.NewContext(actx)
	t.Cleanup(cancel3)
	return &page{t: t, ctx: ctx}
}

func (p *page) fail(what string, err error) {
	p.t.Helper()
	text, _ := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS("body")))
	p.t.Fatalf("%s: %v\npage text:\n%s", what, err, text)
}

func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.fail(what, err)
	}
}

func eval[T any](p *page, expr string, opts ...chromedp.EvaluateOption) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		p.fail(expr, err)
	}
	return v
}

func (p *page) until(what, expr string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		p.fail("waiting for "+what, err)
	}
}

func (p *page) screenshot(path string) {
	p.t.Helper()
	b, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(90))
	if err != nil {
		p.fail("screenshot", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
}
