package webhook

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEnqueue: the cost an event adds to the transaction that
// indexes a recording (one INSERT into the SQLite outbox, committed).
func BenchmarkEnqueue(b *testing.B) {
	c := openCatalog(b)
	s := New(Options{URL: "http://127.0.0.1:1/", Key: testKey, Catalog: c})
	ev := map[string]any{"type": "recording.stored", "id": "01a2355a-cfdd-70bd-88bc-5eaa082a1d4e", "object_key": "cs-quality/2026/12/02/01a2355a-cfdd-70bd-88bc-5eaa082a1d4e.wav", "sha256": "3a5546609b243c8f08345d63cd1de86a6799851ad1fa8fa283be7a5c27130c1e", "at": time.Now()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Tx(ctx, func(tx *sql.Tx) error { return s.Enqueue(ctx, tx, "recording.stored", "r1", ev) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliver: events delivered a second from the outbox to an
// endpoint on loopback that takes each (claim, signed POST, delete).
func BenchmarkDeliver(b *testing.B) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c := openCatalog(b)
	s := New(Options{URL: srv.URL, Key: testKey, Catalog: c})
	ctx := context.Background()
	for range b.N {
		if err := s.Enqueue(ctx, c.DB(), "recording.stored", "r1", map[string]string{"id": "r1"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for {
		full, err := s.pass(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if !full && got.Load() >= int64(b.N) {
			break
		}
	}
	b.StopTimer()
	if n := got.Load(); n != int64(b.N) {
		b.Fatalf("delivered %d, want %d", n, b.N)
	}
}
