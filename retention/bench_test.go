package retention_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

// BenchmarkPurgeS3 fills the catalog and versitygw with expired
// recordings (two small objects each, as audio and manifest) and purges
// them all, end to end: catalog intent, S3 multi-object deletes, then
// tombstones and audit entries. KIROKU_BENCH_PURGE_N sets how many
// (default 100,000). Run with make bench-purge.
func BenchmarkPurgeS3(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("KIROKU_BENCH_PURGE_N")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		b.StopTimer()
		srv := s3test.Start(b)
		st, err := s3.New(b.Context(), s3.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region,
			AccessKey: srv.AccessKey, SecretKey: s3.Secret(srv.SecretKey)})
		if err != nil {
			b.Fatal(err)
		}
		cat, err := catalog.Open(b.Context(), filepath.Join(b.TempDir(), "catalog.db"))
		if err != nil {
			b.Fatal(err)
		}
		fill(b, srv, cat, n)
		p := retention.New(retention.Options{Catalog: cat, Store: st, Now: func() time.Time { return t0.AddDate(1, 0, 0) }})
		b.StartTimer()
		start := time.Now()
		res, err := p.Purge(b.Context())
		took := time.Since(start)
		b.StopTimer()
		if err != nil || res.Deleted != n {
			b.Fatalf("purged %d of %d: %v", res.Deleted, n, err)
		}
		b.ReportMetric(float64(n)/took.Seconds(), "recordings/s")
		cat.Close()
	}
}

func fill(b *testing.B, srv *s3test.Server, cat *catalog.Catalog, n int) {
	b.Helper()
	cli := srv.Client(b)
	recs := make([]*catalog.Recording, n)
	for i := range recs {
		id := uuid.Must(uuid.NewV7()).String()
		base := fmt.Sprintf("cs-quality/2026/01/10/%s", id)
		recs[i] = &catalog.Recording{ID: id, StartedAt: t0, Caller: "0311111111", Line: "0120000001", Purpose: "cs-quality",
			Decision: "notified", ObjectKey: base + ".wav", ManifestKey: base + ".json", RetainUntil: t0.AddDate(0, 0, 90),
			State: catalog.StateStored, StoredAt: t0}
	}
	var wg sync.WaitGroup
	work := make(chan string)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				if _, err := cli.PutObject(b.Context(), srv.Bucket, k, bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for _, r := range recs {
		work <- r.ObjectKey
		work <- r.ManifestKey
	}
	close(work)
	wg.Wait()
	tx, err := cat.DB().BeginTx(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range recs {
		if err := catalog.PutRecording(b.Context(), tx, r); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
