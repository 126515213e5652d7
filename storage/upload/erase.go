package upload

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/spool"
)

// erasedBy returns the erasure request that covers m's recording — one
// for its caller's number made after its call began (a recording in the
// spool at the erasure, or a call then in progress) — or "".
func (u *Uploader) erasedBy(ctx context.Context, q catalog.Querier, m *spool.Manifest) (string, error) {
	if m.Caller == "" {
		return "", nil
	}
	req, err := catalog.ErasedSince(ctx, q, catalog.NumberMAC(u.o.Keys.AuditKey(), m.Caller), m.StartedAt)
	if err != nil {
		return "", fmt.Errorf("erasure ledger: %w", err)
	}
	return req, nil
}

// stoppedBy returns the stop-of-use request in force that covers m's
// recording — one for its caller's number made after its call began — or
// "".
func (u *Uploader) stoppedBy(ctx context.Context, q catalog.Querier, m *spool.Manifest) (string, error) {
	if m.Caller == "" {
		return "", nil
	}
	req, err := catalog.StoppedSince(ctx, q, catalog.NumberMAC(u.o.Keys.AuditKey(), m.Caller), m.StartedAt)
	if err != nil {
		return "", fmt.Errorf("stop-of-use ledger: %w", err)
	}
	return req, nil
}

// destroyErased destroys a recording an erasure covers instead of storing
// it: what this attempt already put in the store (rec, when not nil) is
// deleted, the spool copy and its data key are removed, and the act is
// audited with the request, naming no number. Nothing of it is indexed.
func (u *Uploader) destroyErased(ctx context.Context, m *spool.Manifest, rec *catalog.Recording, request string) error {
	var undeleted []string
	if rec != nil {
		var keys []string
		for _, k := range []string{rec.ObjectKey, rec.ManifestKey} {
			if k != "" {
				keys = append(keys, k)
			}
		}
		for _, r := range u.o.Store.Delete(ctx, keys) {
			if r.Err != nil {
				undeleted = append(undeleted, r.Key)
				u.o.Log.Warn("erased recording: stored object not deleted (its data key is destroyed, so it cannot be read)",
					zap.String("call_id", m.ID), zap.String("key", r.Key), zap.Error(r.Err))
			}
		}
	}
	detail, _ := json.Marshal(map[string]any{"request": request, "where": "spool", "undeleted": undeleted})
	if err := u.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		// What was to be said about it (a recording.failed while the
		// store was down) is not said now.
		if _, err := catalog.DropOutbox(ctx, tx, m.ID); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Actor: "kirokud", Action: audit.ActionErase, Target: m.ID,
			Reason: "erasure request " + request + ": destroyed before it was stored", Detail: string(detail)})
		return err
	}); err != nil {
		return err
	}
	u.forgetKey(m.ID)
	if err := u.o.Spool.Remove(m.ID); err != nil {
		return fmt.Errorf("erased recording %s: spool files: %w", m.ID, err)
	}
	u.o.Log.Info("recording erased before it was stored", zap.String("call_id", m.ID), zap.String("request", request))
	return nil
}
