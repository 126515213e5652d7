package daemon

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
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
		key := audit.CheckpointKey(cp.Seq)
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
// keeping the result for the kiroku_audit_verify_ok gauge; from the
// first hour on it checks the catalog's integrity too (New checked it at
// start).
func (d *Daemon) verifyAudit(ctx context.Context) {
	for first := true; ; first = false {
		if !first {
			if err := d.checkCatalogIntegrity(ctx); err != nil {
				return // ctx ended
			}
		}
		n, err := audit.Verify(ctx, d.catalog.DB())
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = d.checkNewestCheckpoint(ctx)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			d.auditOK.Store(false)
			d.log.Error("audit log does not verify", zap.Error(err))
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

// checkNewestCheckpoint holds the log to the newest signed checkpoint in
// the store (a log rewritten whole keeps a valid chain, not the signed
// head). A store that cannot be read is logged and not held against the
// log: the next hour tries again.
func (d *Daemon) checkNewestCheckpoint(ctx context.Context) error {
	rep, err := recording.CheckCheckpoints(ctx, d.catalog.DB(), d.store, d.keys.AuditKey(), true)
	if err != nil {
		d.log.Warn("audit checkpoints not checked: the store did not answer", zap.Error(err))
		return nil
	}
	if len(rep.Failures) > 0 {
		return fmt.Errorf("the newest signed audit checkpoint does not match the log: %s", rep.Failures[0])
	}
	return nil
}
