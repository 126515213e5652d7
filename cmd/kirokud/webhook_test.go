package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestWebhook: integrators are told when a recording is safely stored.
func TestWebhook(t *testing.T) {
	var (
		mu     sync.Mutex
		events []map[string]any
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e map[string]any
		json.NewDecoder(r.Body).Decode(&e)
		if r.Header.Get("Webhook-Signature") == "" {
			t.Errorf("event %v unsigned", e)
		}
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}))
	defer hook.Close()
	d := prepare(t, "5s", "0120000001")
	f, _ := os.OpenFile(filepath.Join(d.dir, "kiroku.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "webhook: {url: %q, secret_env: KIROKU_WEBHOOK_SECRET}\n", hook.URL)
	f.Close()
	d.env = append(d.env, "KIROKU_WEBHOOK_SECRET=a signing secret of the test")
	d.start(t)
	wantSuccess(t, d.call(t, "uac_pcap.xml", "0120000001", time.Second, map[string]string{"pcap": tonePcap(t, time.Second)}))
	waitFor(t, "the webhook event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	e := events[0]
	if e["type"] != "recording.stored" || e["id"] == "" || e["sha256"] == "" || e["object_key"] == "" {
		t.Errorf("got event %v, want recording.stored with id, object key and checksum", e)
	}
}
