package webhook

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kiroku-voice/kiroku/catalog"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// endpoint answers each POST with the next status of its script (the
// last one repeats), checks its signature and keeps the bodies.
type endpoint struct {
	mu     sync.Mutex
	script []int
	bodies []string
	ids    []string
	got    chan struct{}
}

func newEndpoint(t *testing.T, script ...int) (*endpoint, *httptest.Server) {
	e := &endpoint{script: script, got: make(chan struct{}, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got Content-Type %q, want application/json", r.Header.Get("Content-Type"))
		}
		if err := Verify(testKey, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("signature: %v", err)
		}
		e.mu.Lock()
		e.bodies = append(e.bodies, string(body))
		e.ids = append(e.ids, r.Header.Get(HeaderID))
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

func openCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Open(t.Context(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
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

func enqueue(t *testing.T, s *Sender, c *catalog.Catalog, kind, id string) {
	t.Helper()
	err := c.Tx(t.Context(), func(tx *sql.Tx) error {
		return s.Enqueue(t.Context(), tx, kind, id, map[string]string{"type": kind, "id": id})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Kick()
}

// waitOutbox waits until cond holds of the outbox.
func waitOutbox(t *testing.T, c *catalog.Catalog, what string, cond func([]*catalog.OutboxEvent) bool) []*catalog.OutboxEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := c.Outbox(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; outbox %+v", what, evs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDelivery(t *testing.T) {
	tests := []struct {
		name      string
		script    []int
		wantTries int
		wantState string // "" when delivered (the row is gone)
		wantLog   string
	}{
		{"delivered at once", []int{204}, 1, "", ""},
		{"retried until accepted", []int{500, 503, 200}, 3, "", "webhook delivery failed"},
		{"dead-lettered after the last try", []int{500}, 3, catalog.OutboxDead, "webhook event dead-lettered"},
		{"a redirect is not taken as delivered", []int{302, 200}, 2, "", "webhook delivery failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, srv := newEndpoint(t, tt.script...)
			c := openCatalog(t)
			core, logs := observer.New(zap.InfoLevel)
			s := New(Options{URL: srv.URL, Key: testKey, Catalog: c, MaxTries: 3,
				MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Log: zap.New(core)})
			stop := run(t, s)
			enqueue(t, s, c, "recording.stored", "r1")
			for range tt.wantTries {
				<-ep.got
			}
			evs := waitOutbox(t, c, "the outcome", func(evs []*catalog.OutboxEvent) bool {
				if tt.wantState == "" {
					return len(evs) == 0
				}
				return len(evs) == 1 && evs[0].State == tt.wantState
			})
			stop()
			if tt.wantLog != "" && logs.FilterMessage(tt.wantLog).Len() == 0 {
				t.Errorf("no log %q", tt.wantLog)
			}
			if got := ep.tries(); got != tt.wantTries {
				t.Errorf("got %d tries, want %d", got, tt.wantTries)
			}
			if ep.bodies[0] != `{"id":"r1","type":"recording.stored"}` {
				t.Errorf("got body %s, want the event enqueued", ep.bodies[0])
			}
			for _, id := range ep.ids {
				if id != ep.ids[0] {
					t.Errorf("got ids %v, want the same at every try", ep.ids)
				}
			}
			if tt.wantState == catalog.OutboxDead {
				if evs[0].Tries != 3 || evs[0].LastError != "status 500 Internal Server Error" {
					t.Errorf("got dead event %+v, want 3 tries and the last status", evs[0])
				}
				if s.DeadLettered() != 1 || s.Delivered() != 0 {
					t.Errorf("got %d dead-lettered, %d delivered, want 1, 0", s.DeadLettered(), s.Delivered())
				}
			} else if s.Delivered() != 1 {
				t.Errorf("got %d delivered, want 1", s.Delivered())
			}
		})
	}
}

// TestMaxAge: an event older than MaxAge at a failed try is
// dead-lettered, whatever its count of tries.
func TestMaxAge(t *testing.T) {
	ep, srv := newEndpoint(t, 503)
	c := openCatalog(t)
	s := New(Options{URL: srv.URL, Key: testKey, Catalog: c, MaxTries: 100, MaxAge: time.Hour, MinBackoff: time.Millisecond})
	e := &catalog.OutboxEvent{Recording: "r1", Type: "recording.stored", Body: []byte(`{}`), CreatedAt: time.Now().Add(-2 * time.Hour)}
	if err := catalog.AddOutbox(t.Context(), c.DB(), e); err != nil {
		t.Fatal(err)
	}
	stop := run(t, s)
	<-ep.got
	waitOutbox(t, c, "the event dead-lettered", func(evs []*catalog.OutboxEvent) bool {
		return len(evs) == 1 && evs[0].State == catalog.OutboxDead && evs[0].Tries == 1
	})
	stop()
}

// TestAcrossRestart: an event the endpoint refused is kept with its
// tries and delivered by the next Sender on the same catalog; the stop
// cuts the back-off short.
func TestAcrossRestart(t *testing.T) {
	ep, srv := newEndpoint(t, 503, 204)
	c := openCatalog(t)
	o := Options{URL: srv.URL, Key: testKey, Catalog: c, MinBackoff: 200 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	s := New(o)
	stop := run(t, s)
	enqueue(t, s, c, "recording.failed", "r2")
	<-ep.got
	waitOutbox(t, c, "the failed try recorded", func(evs []*catalog.OutboxEvent) bool { return len(evs) == 1 && evs[0].Tries == 1 })
	stop()
	if got := ep.tries(); got != 1 {
		t.Fatalf("got %d tries before the restart, want 1", got)
	}
	stop = run(t, New(o))
	<-ep.got
	waitOutbox(t, c, "the event delivered", func(evs []*catalog.OutboxEvent) bool { return len(evs) == 0 })
	stop()
	if ep.ids[0] != ep.ids[1] {
		t.Errorf("got ids %v, want the same event", ep.ids)
	}
}

// TestBackoff: the wait doubles per try up to MaxBackoff, with its
// second half random.
func TestBackoff(t *testing.T) {
	s := New(Options{MinBackoff: time.Second, MaxBackoff: time.Minute})
	for _, tc := range []struct {
		tries    int
		lo, high time.Duration
	}{{1, 500 * time.Millisecond, time.Second}, {2, time.Second, 2 * time.Second}, {4, 4 * time.Second, 8 * time.Second}, {30, 30 * time.Second, time.Minute}} {
		for range 20 {
			if got := s.backoff(tc.tries); got < tc.lo || got > tc.high {
				t.Errorf("try %d: got %v, want within [%v, %v]", tc.tries, got, tc.lo, tc.high)
			}
		}
	}
}

// TestVerify: the documented check accepts what Sign wrote and refuses
// another body, another id, another key, a stale timestamp and no
// headers.
func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"recording.stored","id":"r1"}`)
	headers := func(id string, ts int64, sig string) http.Header {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		h.Set(HeaderSignature, sig)
		return h
	}
	good := Sign(testKey, "evt_1", now.Unix(), body)
	for _, tc := range []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{"as signed", headers("evt_1", now.Unix(), good), body, nil},
		{"one of several signatures", headers("evt_1", now.Unix(), "v1,AAAA "+good), body, nil},
		{"another body", headers("evt_1", now.Unix(), good), []byte(`{"type":"recording.stored","id":"r2"}`), ErrBadSignature},
		{"another id", headers("evt_2", now.Unix(), good), body, ErrBadSignature},
		{"another key", headers("evt_1", now.Unix(), Sign([]byte("another key of 16+ bytes"), "evt_1", now.Unix(), body)), body, ErrBadSignature},
		{"replayed later", headers("evt_1", now.Unix()-600, Sign(testKey, "evt_1", now.Unix()-600, body)), body, ErrStale},
		{"no headers", http.Header{}, body, ErrNoSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Verify(testKey, tc.h, tc.body, now, 5*time.Minute); err != tc.want {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRequeueDead: an event given up — here by age, created long ago —
// and requeued once the endpoint is mended is delivered, with the same
// id and body, and is not given up again at its first failed try for
// the age it had (its age counts from the requeue); an event not given
// up is not touched by a requeue.
func TestRequeueDead(t *testing.T) {
	ep, srv := newEndpoint(t, 503, 503, 204)
	c := openCatalog(t)
	s := New(Options{URL: srv.URL, Key: testKey, Catalog: c, MaxTries: 100, MaxAge: time.Hour,
		MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	e := &catalog.OutboxEvent{Recording: "r1", Type: "recording.stored", Body: []byte(`{"id":"r1"}`), CreatedAt: time.Now().Add(-2 * time.Hour)}
	if err := catalog.AddOutbox(t.Context(), c.DB(), e); err != nil {
		t.Fatal(err)
	}
	stop := run(t, s)
	<-ep.got
	waitOutbox(t, c, "the event given up", func(evs []*catalog.OutboxEvent) bool {
		return len(evs) == 1 && evs[0].State == catalog.OutboxDead
	})
	if got, err := c.RequeueOutbox(t.Context(), []string{"evt_00000000000000000000000000000000"}, false, time.Now()); err != nil || len(got) != 0 {
		t.Fatalf("requeue of an unknown id: %v, %v; want none", got, err)
	}
	got, err := c.RequeueOutbox(t.Context(), nil, true, time.Now())
	if err != nil || len(got) != 1 || got[0] != e.ID {
		t.Fatalf("requeue all: %v, %v; want [%s]", got, err, e.ID)
	}
	s.Kick()
	for _, what := range []string{"the requeued event's first try", "its second try (not given up for its old age)"} {
		select {
		case <-ep.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %s; outbox %+v", what, waitOutbox(t, c, "", func([]*catalog.OutboxEvent) bool { return true }))
		}
	}
	waitOutbox(t, c, "the event delivered", func(evs []*catalog.OutboxEvent) bool { return len(evs) == 0 })
	stop()
	if ep.tries() != 3 || ep.bodies[2] != `{"id":"r1"}` || ep.ids[2] != ep.ids[0] {
		t.Errorf("got %d tries, bodies %v, ids %v; want 3, the same body and id", ep.tries(), ep.bodies, ep.ids)
	}
	if got, err := c.RequeueOutbox(t.Context(), []string{e.ID}, false, time.Now()); err != nil || len(got) != 0 {
		t.Errorf("requeue of a delivered event: %v, %v; want none", got, err)
	}
}
