package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/internal/wav"
)

const testToken = "daemon-test-token"

// testPOToken is the privacy officer's token of writeConfig.
const testPOToken = "daemon-test-privacy-officer"

// writeConfig writes a configuration with every listener on a :0 port of
// loopback, one echo line, and the purpose's retention.
func writeConfig(t *testing.T, dir, retention string, extra ...string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(testToken))
	po := sha256.Sum256([]byte(testPOToken))
	y := fmt.Sprintf(`sip:
  listen: ["udp://127.0.0.1:0"]
  trunks: [{name: test, cidrs: ["127.0.0.0/8"]}]
  rtp_ports: 36000-36999
  drain_timeout: 5s
data_dir: data
log: {format: json, level: debug}
control: {listen: "127.0.0.1:0"}
api:
  listen: "127.0.0.1:0"
  tokens: [{name: sato, roles: [supervisor], sha256: %s}, {name: po, roles: [privacy-officer], sha256: %s}]
purposes:
  - {name: cs-quality, retention: %s, listeners: [supervisor]}
lines:
  - {number: "0120000001", purpose: cs-quality, notice: notice.wav, opt_out_digit: "9", opt_out_wait: 200ms, downstream: "echo:"}
%s`, hex.EncodeToString(sum[:]), hex.EncodeToString(po[:]), retention, strings.Join(extra, ""))
	path := filepath.Join(dir, "kiroku.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeNotice writes a half-second tone as the line's notice.
func writeNotice(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "notice.wav"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := wav.NewWriter(f, 8000, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2*4000)
	for i := range 4000 {
		s := int16(3000 * math.Sin(float64(i)/3))
		b[2*i], b[2*i+1] = byte(s), byte(uint16(s)>>8)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(w.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

// newDaemon builds a daemon on a fresh folder; it is stopped when the
// test ends if the test did not stop it.
func newDaemon(t *testing.T, extra ...string) (*Daemon, string) {
	t.Helper()
	dir := t.TempDir()
	writeNotice(t, dir)
	path := writeConfig(t, dir, "90d", extra...)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(t.Context(), cfg, path, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop(context.Background()) })
	return d, path
}

// recordedThenStopped runs a daemon on a fresh folder through one
// recorded call until it is stored, then stops it (which signs the audit
// head into the store); it returns the stored recording and the
// configuration file.
func recordedThenStopped(t *testing.T) (*catalog.Recording, string) {
	t.Helper()
	d, path := newDaemon(t)
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	call(t, d, time.Second)
	waitFor(t, "the recording stored", func() bool { return len(stored(t, d)) == 1 })
	rec := stored(t, d)[0]
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	return rec, path
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call places one SIPp call of hold on the echo line.
func call(t *testing.T, d *Daemon, hold time.Duration) {
	t.Helper()
	p := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uac.xml"),
		Remote:   d.SIP().Listeners()[0].Addr.String(),
		Keys:     map[string]string{"dialled": "0120000001", "caller": "0312345678", "rtp_port": strconv.Itoa(sipptest.FreePort(t, "udp"))},
		Duration: hold,
		Timeout:  30 * time.Second,
	})
	if res := p.Wait(t.Context()); res.Err() != nil {
		t.Fatalf("sipp: %v\n%s", res.Err(), res.Log)
	}
}

// stored returns the catalog's recordings.
func stored(t *testing.T, d *Daemon) []*catalog.Recording {
	t.Helper()
	var out []*catalog.Recording
	err := d.Catalog().Select(t.Context(), catalog.Filter{}, func(b []*catalog.Recording) error {
		out = append(out, b...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLifecycle starts the daemon in-process, serves a call, its webhook
// event and an API request, stops it, and checks that every goroutine it
// started is gone.
func TestLifecycle(t *testing.T) {
	events := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e struct{ Type string }
		json.NewDecoder(r.Body).Decode(&e)
		events <- e.Type
	}))
	defer hook.Close()
	hook.Config.SetKeepAlivesEnabled(false)
	base := runtime.NumGoroutine()
	t.Setenv("KIROKU_WEBHOOK_SECRET", "a signing secret of the test")
	d, _ := newDaemon(t, fmt.Sprintf("webhook: {url: %q, secret_env: KIROKU_WEBHOOK_SECRET}\n", hook.URL))
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	call(t, d, time.Second)
	waitFor(t, "the recording stored", func() bool { return len(stored(t, d)) == 1 })
	select {
	case e := <-events:
		if e != "recording.stored" {
			t.Errorf("got webhook event %q, want recording.stored", e)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook event")
	}

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+d.APIAddr().String()+"/api/v1/recordings", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v1/recordings: got %s, want 200", res.Status)
	}
	res, err = client.Get("http://" + d.ControlAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		var b strings.Builder
		pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Errorf("got %d goroutines after Stop, want at most the %d before New:\n%s", n, base, b.String())
	}
	if err := d.Stop(ctx); err != nil {
		t.Errorf("second Stop: got %v, want the first one's nil", err)
	}
	if err := d.Reload(ctx); !errors.Is(err, ErrStopped) {
		t.Errorf("Reload after Stop: got %v, want ErrStopped", err)
	}
}

// TestReload: a valid file is swapped in and its shorter retention is
// brought to stored recordings in the background; a broken one changes
// nothing.
func TestReload(t *testing.T) {
	d, path := newDaemon(t)
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	call(t, d, time.Second)
	waitFor(t, "the recording stored", func() bool { return len(stored(t, d)) == 1 })
	before := stored(t, d)[0].RetainUntil

	if err := os.WriteFile(path, []byte("sip: [not a mapping"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := d.currentConfig()
	if err := d.Reload(t.Context()); err == nil {
		t.Fatal("Reload of a broken file: got nil, want an error")
	}
	if d.currentConfig() != old {
		t.Error("a failed reload replaced the configuration in force")
	}

	writeConfig(t, filepath.Dir(path), "30d")
	if err := d.Reload(t.Context()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got := d.currentConfig().Purposes[0].Retention.String(); got != "30d" {
		t.Errorf("got retention %s in force, want 30d", got)
	}
	waitFor(t, "the shorter retention applied", func() bool {
		return stored(t, d)[0].RetainUntil.Before(before)
	})
	r := stored(t, d)[0]
	if want := before.AddDate(0, 0, -60); !r.RetainUntil.Equal(want) {
		t.Errorf("got retain-until %s, want %s (60 days earlier)", r.RetainUntil, want)
	}
	waitFor(t, "the retagger idle", func() bool { return !d.retag.pending() })
}

// TestShorterRetentionAtRestart: the preview of 30 days on the daemon at
// 90 days counts the stored recording as dated earlier and changes
// nothing; a daemon stopped with a 90-day purpose and started again with
// 30 days then re-dates the stored recording at start,
// audited as by "start", without any reload; a second start on the same
// policy changes nothing.
func TestShorterRetentionAtRestart(t *testing.T) {
	rec, path := recordedThenStopped(t)
	before := rec.RetainUntil
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	start := func() *Daemon {
		t.Helper()
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		d, err := New(t.Context(), cfg, path, zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		return d
	}
	// First the preview, on the daemon still at 90d: it counts the
	// recording as one the shorter limit dates earlier, and changes
	// nothing.
	d1 := start()
	code, b := poDo(t, d1, http.MethodGet, "/api/v1/retention/plan?purpose=cs-quality&retention=30d", nil)
	var plan apiclient.RetentionPlan
	if err := json.Unmarshal(b, &plan); code != http.StatusOK || err != nil || plan.Preview == nil {
		t.Fatalf("preview: got %d %s", code, b)
	}
	if pv := plan.Preview; pv.From != "90d" || pv.To != "30d" || pv.Stored != 1 || pv.Earlier != 1 || pv.Due != 0 {
		t.Errorf("preview: got %+v, want 90d → 30d, 1 stored and dated earlier, none due", pv)
	}
	if r := stored(t, d1)[0]; !r.RetainUntil.Equal(before) {
		t.Errorf("the preview changed retain-until to %s", r.RetainUntil)
	}
	if err := d1.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	writeConfig(t, filepath.Dir(path), "30d")
	d2 := start()
	waitFor(t, "the start pass", func() bool { return !d2.retag.pending() })
	r := stored(t, d2)[0]
	if want := before.AddDate(0, 0, -60); !r.RetainUntil.Equal(want) {
		t.Errorf("after a restart with 30d: retain-until %s, want %s (60 days earlier)", r.RetainUntil, want)
	}
	changes := func(d *Daemon) int {
		es, err := audit.List(t.Context(), d.Catalog().DB(), audit.Filter{Action: string(audit.ActionRetentionChange)})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Actor != "start" || e.Target != r.ID {
				t.Errorf("retention change %+v, want one by start for %s", e, r.ID)
			}
		}
		return len(es)
	}
	if n := changes(d2); n != 1 {
		t.Errorf("got %d retention-change entries, want 1", n)
	}
	if err := d2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	d3 := start()
	t.Cleanup(func() { d3.Stop(context.Background()) })
	waitFor(t, "the start pass", func() bool { return !d3.retag.pending() })
	if n := changes(d3); n != 1 {
		t.Errorf("a second start on the same policy: %d retention-change entries, want still 1", n)
	}
}
