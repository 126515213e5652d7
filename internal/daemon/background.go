package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// checkpointEvery is how often the audit head is signed into the store.
const checkpointEvery = 5 * time.Minute

// checkpoints writes a signed audit checkpoint to the store whenever the
// chain has grown, every checkpointEvery and once more at stop.
func (d *Daemon) checkpoints(ctx context.Context) {
	var last int64 = -1
	write := func(ctx context.Context) {
		cp, err := audit.NewCheckpoint(ctx, d.catalog.DB(), d.keys.AuditKey(), time.Now())
		if err != nil || cp.Seq == last {
			return
		}
		b := cp.Marshal()
		key := fmt.Sprintf("audit/checkpoints/%020d.json", cp.Seq)
		if _, err := d.store.Put(ctx, key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{ContentType: "application/json"}); err != nil {
			d.log.Warn("audit checkpoint not written", zap.Error(err))
			return
		}
		last = cp.Seq
	}
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			write(sctx)
			cancel()
			return
		case <-t.C:
			write(ctx)
		}
	}
}

// verifyEvery is how often the whole audit chain is verified.
const verifyEvery = time.Hour

// verifyAudit walks the audit chain at start and every verifyEvery,
// keeping the result for the kiroku_audit_verify_ok gauge.
func (d *Daemon) verifyAudit(ctx context.Context) {
	for {
		n, err := audit.Verify(ctx, d.catalog.DB())
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			d.auditOK.Store(false)
			d.log.Error("audit chain does not verify", zap.Error(err))
		} else {
			d.auditOK.Store(true)
			d.log.Debug("audit chain verified", zap.Int64("entries", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(verifyEvery):
		}
	}
}

// newWebhook returns the uploader's notifier: each event is POSTed as
// JSON, retried a few times with back-off, on its own goroutine (bounded:
// events beyond the queue are logged and dropped, never blocking uploads).
func newWebhook(url string, log *zap.Logger) func(upload.Event) {
	if url == "" {
		return nil
	}
	queue := make(chan upload.Event, 1024)
	client := &http.Client{Timeout: 10 * time.Second}
	go func() {
		for e := range queue {
			body, _ := json.Marshal(e)
			for try, wait := 0, time.Second; try < 5; try, wait = try+1, wait*2 {
				res, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err == nil {
					res.Body.Close()
					if res.StatusCode < 300 {
						break
					}
					err = fmt.Errorf("status %s", res.Status)
				}
				log.Warn("webhook delivery failed", zap.String("event", e.Type), zap.String("call_id", e.ID), zap.Int("try", try+1), zap.Error(err))
				time.Sleep(wait)
			}
		}
	}()
	return func(e upload.Event) {
		select {
		case queue <- e:
		default:
			log.Error("webhook queue full; event dropped", zap.String("event", e.Type), zap.String("call_id", e.ID))
		}
	}
}
