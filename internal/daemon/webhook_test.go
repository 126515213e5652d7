package daemon

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// receiver is an integrator's endpoint that checks each delivery as the
// README says a receiver should, independently of the daemon's code:
// the base64 HMAC-SHA-256, under the secret after whsec_ decoded, of
// webhook-id "." webhook-timestamp "." body, and a timestamp within five
// minutes.
type receiver struct {
	t   *testing.T
	key []byte

	mu   sync.Mutex
	seen map[string]int // by webhook-id: deliveries
	got  []string       // "type id", in the order taken
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, rc.key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	sec, err := strconv.ParseInt(ts, 10, 64)
	if !hmac.Equal([]byte(r.Header.Get("webhook-signature")), []byte(want)) || err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		rc.t.Errorf("delivery %q: signature %q at %q does not verify", id, r.Header.Get("webhook-signature"), ts)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var e struct{ Type, ID, Reason string }
	if err := json.Unmarshal(body, &e); err != nil {
		rc.t.Errorf("delivery %q: %v", id, err)
	}
	rc.mu.Lock()
	rc.seen[id]++
	rc.got = append(rc.got, e.Type+" "+e.ID)
	if e.Type == "recording.no_audio" && e.Reason == "" {
		rc.t.Errorf("recording.no_audio %s without a reason", e.ID)
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// TestWebhookAcrossRestart: with the endpoint down, a recorded call, a
// call hung up during the notice (recording.no_audio) and a call whose
// upload fails while the store is broken (recording.failed, then
// recording.stored once it is back) wait in the outbox, tried and
// refused; the daemon is stopped, the endpoint comes up, and the next
// start delivers every event exactly once, each signature verified.
func TestWebhookAcrossRestart(t *testing.T) {
	raw := make([]byte, 32)
	rand.Read(raw)
	t.Setenv("KIROKU_WEBHOOK_SECRET", "whsec_"+base64.StdEncoding.EncodeToString(raw))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // down: connections refused

	d, path := newDaemon(t, fmt.Sprintf("webhook: {url: \"http://%s/hook\", secret_env: KIROKU_WEBHOOK_SECRET, min_backoff: 20ms, max_backoff: 100ms, max_tries: 1000000}\n", addr))
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	outbox := func(d *Daemon) []*catalog.OutboxEvent {
		evs, err := d.Catalog().Outbox(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	tried := func(evs []*catalog.OutboxEvent, kind string) bool {
		for _, e := range evs {
			if e.Type == kind && e.Tries > 0 && e.State == catalog.OutboxPending {
				return true
			}
		}
		return false
	}
	// What each indexed recording is announced by: recording.stored,
	// then recording.silent for a silent channel and recording.no_audio
	// for a call with no audio (on a loaded machine even the longer call
	// may end within the notice).
	expected := func(d *Daemon) []string {
		var out []string
		for _, r := range stored(t, d) {
			out = append(out, "recording.stored "+r.ID)
			if len(r.SilentChannels) > 0 {
				out = append(out, "recording.silent "+r.ID)
			}
			if r.ObjectKey == "" {
				out = append(out, "recording.no_audio "+r.ID)
			}
		}
		return out
	}
	call(t, d, time.Second)
	call(t, d, 0) // hangs up during the half-second notice
	waitFor(t, "two calls indexed", func() bool { return len(stored(t, d)) == 2 })

	// The store's folder for the purpose made a file: the next upload
	// fails (whoever the test runs as), until it is a folder again.
	purposeDir := filepath.Join(d.currentConfig().Storage.Dir, "cs-quality")
	if err := os.MkdirAll(purposeDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(purposeDir, purposeDir+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(purposeDir, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	call(t, d, time.Second)
	waitFor(t, "recording.failed tried", func() bool { return tried(outbox(d), "recording.failed") })
	var failedID string
	for _, e := range outbox(d) {
		if e.Type == "recording.failed" {
			failedID = e.Recording
		}
	}
	if err := os.Remove(purposeDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(purposeDir+".away", purposeDir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the third call stored", func() bool { return len(stored(t, d)) == 3 })
	waitFor(t, "every event tried", func() bool {
		evs := outbox(d)
		for _, e := range evs {
			if e.Tries == 0 {
				return false
			}
		}
		return len(evs) == len(expected(d))+1
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	rc := &receiver{t: t, key: raw, seen: map[string]int{}}
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the endpoint's port was taken meanwhile: %v", err)
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := New(t.Context(), cfg, path, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d2.Stop(context.Background()) })
	if err := d2.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the outbox emptied", func() bool { return len(outbox(d2)) == 0 })
	if n := gauge(t, d2, "kiroku_webhook_pending"); n != 0 {
		t.Errorf("got kiroku_webhook_pending %v, want 0", n)
	}
	want := append(expected(d2), "recording.failed "+failedID)
	sort.Strings(want)
	if n := gauge(t, d2, "kiroku_webhook_delivered_total"); n != float64(len(want)) {
		t.Errorf("got kiroku_webhook_delivered_total %v, want %d", n, len(want))
	}
	if err := d2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for id, n := range rc.seen {
		if n != 1 {
			t.Errorf("event %s delivered %d times, want once", id, n)
		}
	}
	if len(rc.seen) != len(want) {
		t.Errorf("got %d events, want %d", len(rc.seen), len(want))
	}
	got := append([]string(nil), rc.got...)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
