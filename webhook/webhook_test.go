package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// endpoint answers each POST with the next status of its script (the
// last one repeats) and keeps the bodies it was sent.
type endpoint struct {
	mu     sync.Mutex
	script []int
	bodies []map[string]any
	got    chan struct{}
}

func newEndpoint(t *testing.T, script ...int) (*endpoint, *httptest.Server) {
	e := &endpoint{script: script, got: make(chan struct{}, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got Content-Type %q, want application/json", r.Header.Get("Content-Type"))
		}
		json.NewDecoder(r.Body).Decode(&b)
		e.mu.Lock()
		e.bodies = append(e.bodies, b)
		code := e.script[0]
		if len(e.script) > 1 {
			e.script = e.script[1:]
		}
		e.mu.Unlock()
		w.WriteHeader(code)
		e.got <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	return e, srv
}

func (e *endpoint) tries() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.bodies)
}

// run starts s.Run and returns a stop that waits for it.
func run(t *testing.T, s *Sender) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != context.Canceled {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	}
}

func TestDelivery(t *testing.T) {
	tests := []struct {
		name      string
		script    []int
		wantTries int
		wantLog   string
	}{
		{"delivered at once", []int{204}, 1, ""},
		{"retried until accepted", []int{500, 503, 200}, 3, "webhook delivery failed"},
		{"given up after the last try", []int{500}, 3, "webhook event given up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, srv := newEndpoint(t, tt.script...)
			core, logs := observer.New(zap.InfoLevel)
			s := New(Options{URL: srv.URL, Tries: 3, Backoff: time.Millisecond, Log: zap.New(core)})
			stop := run(t, s)
			s.Send("recording.stored", "r1", map[string]string{"type": "recording.stored", "id": "r1"})
			for range tt.wantTries {
				<-ep.got
			}
			if tt.wantLog != "" {
				deadline := time.Now().Add(5 * time.Second)
				for logs.FilterMessage(tt.wantLog).Len() == 0 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				if logs.FilterMessage(tt.wantLog).Len() == 0 {
					t.Errorf("no log %q", tt.wantLog)
				}
			}
			stop()
			if got := ep.tries(); got != tt.wantTries {
				t.Errorf("got %d tries, want %d", got, tt.wantTries)
			}
			if b := ep.bodies[0]; b["id"] != "r1" || b["type"] != "recording.stored" {
				t.Errorf("got body %v, want the event sent", b)
			}
		})
	}
}

// TestStopDuringBackoff: Run returns at once when stopped while it waits
// to retry, instead of sleeping out its back-off.
func TestStopDuringBackoff(t *testing.T) {
	ep, srv := newEndpoint(t, 500)
	s := New(Options{URL: srv.URL, Tries: 5, Backoff: time.Hour})
	stop := run(t, s)
	s.Send("recording.failed", "r2", map[string]string{"id": "r2"})
	<-ep.got
	stop()
	if got := ep.tries(); got != 1 {
		t.Errorf("got %d tries, want 1", got)
	}
}

// TestQueueFull: Send never blocks; what does not fit is dropped and
// logged.
func TestQueueFull(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	s := New(Options{URL: "http://127.0.0.1:1", Queue: 2, Log: zap.New(core)})
	for i := range 3 {
		s.Send("recording.stored", string(rune('a'+i)), i)
	}
	if n := logs.FilterMessage("webhook queue full; event dropped").Len(); n != 1 {
		t.Errorf("got %d drops logged, want 1", n)
	}
	if n := len(s.queue); n != 2 {
		t.Errorf("got %d queued, want 2", n)
	}
}

// TestUnencodable: a value JSON cannot encode is dropped with a log
// line, not queued.
func TestUnencodable(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	s := New(Options{URL: "http://127.0.0.1:1", Log: zap.New(core)})
	s.Send("recording.stored", "x", func() {})
	if logs.FilterMessage("webhook event not encodable; dropped").Len() != 1 || len(s.queue) != 0 {
		t.Errorf("got %d queued and logs %v, want the event dropped and logged", len(s.queue), logs.All())
	}
}
