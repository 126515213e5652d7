package upload_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage/s3"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// benchFrames is the length of each benchmark recording: 30 s of stereo
// 8 kHz, about 960 kB, as in the call benchmark.
const benchFrames = 30 * 8000

func s3Env(b *testing.B) *env {
	b.Helper()
	srv := s3test.Start(b)
	st, err := s3.New(b.Context(), s3.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: s3.Secret(srv.SecretKey)})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	sp, _ := spool.Open(filepath.Join(dir, "spool"))
	cat, err := catalog.Open(b.Context(), filepath.Join(dir, "catalog.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cat.Close() })
	e := &env{spool: sp, store: st, cat: cat, keys: keyring(b, "a", "a")}
	sp.SetKeys(e.keys)
	return e
}

// BenchmarkStoreS3 measures the spool → versitygw pipeline: "drain" is
// recordings stored per second from a backlog; "latency" feeds finished
// calls at a steady rate and reports the time from a call's end to its
// recording stored (median and p99). Run with make bench-storage.
func BenchmarkStoreS3(b *testing.B) {
	b.Run("drain", func(b *testing.B) {
		e := s3Env(b)
		up := e.uploader(e.keys)
		for range b.N {
			e.callB(b, benchFrames)
		}
		b.ResetTimer()
		start := time.Now()
		if err := up.Pass(b.Context()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "recordings/s")
	})
	b.Run("latency", func(b *testing.B) {
		e := s3Env(b)
		var (
			mu   sync.Mutex
			lats []time.Duration
		)
		up := upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
			RetainUntil: func(_, p string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
			OnStored: func(d time.Duration) {
				mu.Lock()
				lats = append(lats, d)
				mu.Unlock()
			}})
		go up.Run(b.Context())
		b.ResetTimer()
		tick := time.NewTicker(100 * time.Millisecond) // 10 calls a second end
		for range b.N {
			<-tick.C
			e.callB(b, benchFrames)
			up.Kick()
		}
		tick.Stop()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			mu.Lock()
			n := len(lats)
			mu.Unlock()
			if n == b.N || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.StopTimer()
		mu.Lock()
		defer mu.Unlock()
		if len(lats) != b.N {
			b.Fatalf("stored %d of %d", len(lats), b.N)
		}
		slices.Sort(lats)
		b.ReportMetric(float64(lats[len(lats)/2].Milliseconds()), "ms-median")
		b.ReportMetric(float64(lats[len(lats)*99/100].Milliseconds()), "ms-p99")
	})
}

// callB is call for benchmarks.
func (e *env) callB(b *testing.B, frames int) {
	b.Helper()
	m, _ := e.call(b, frames)
	if m == nil {
		b.Fatal("no call")
	}
}

var _ = fmt.Sprint
var _ = os.Remove
