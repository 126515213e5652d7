package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/recording"
)

// ErrAuditTampered is returned by VerifyAudit when the audit log does not
// hold: a broken hash chain, or a signed checkpoint in the store that the
// log no longer matches.
var ErrAuditTampered = errors.New("audit log does not verify")

// AuditReport is what VerifyAudit checked.
type AuditReport struct {
	Entries     int64 // entries in the log, their hash chain intact
	Checkpoints int   // signed checkpoints found in the store
	Matched     int   // of those, signed with this master key and matching the log
	OtherKey    int   // signed with another master key: they say nothing of this log
	Newest      int64 // the entry the newest matching checkpoint names (0: none)
	// Failures names each checkpoint the log does not match.
	Failures []string
}

// VerifyAudit checks the audit log of the configured catalog from outside
// a running daemon (kirokud -verify-audit): the hash chain entry by entry,
// then every signed checkpoint in the store against the log. The chain
// alone cannot tell a log rewritten whole, with every hash recomputed,
// from the true one; a checkpoint can, since its signature needs the
// master key, which the catalog does not hold. It may run beside the
// daemon (it only reads the log), and it creates no catalog and no key: a
// missing one is an error, not a new one.
func VerifyAudit(ctx context.Context, cfg *config.Config, log *zap.Logger) (AuditReport, error) {
	var rep AuditReport
	if cfg.Catalog.Driver != config.CatalogPostgres {
		if _, err := os.Stat(cfg.Catalog.Path); err != nil {
			return rep, fmt.Errorf("verify audit: catalog: %w", err)
		}
	}
	if len(cfg.Encryption.Keys) == 0 {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "keys", "master.key")); err != nil {
			return rep, fmt.Errorf("verify audit: master key: %w", err)
		}
	}
	keys, err := keyring(cfg, log)
	if err != nil {
		return rep, fmt.Errorf("verify audit: %w", err)
	}
	cat, err := openCatalog(ctx, cfg)
	if err != nil {
		return rep, fmt.Errorf("verify audit: %w", err)
	}
	defer cat.Close()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return rep, fmt.Errorf("verify audit: %w", err)
	}
	defer st.Close()

	rep.Entries, err = audit.Verify(ctx, cat.DB())
	if err != nil {
		return rep, fmt.Errorf("%w: %w", ErrAuditTampered, err)
	}
	cps, err := recording.CheckCheckpoints(ctx, cat.DB(), st, keys.AuditKey(), false)
	if err != nil {
		return rep, fmt.Errorf("verify audit: %w", err)
	}
	rep.Checkpoints, rep.Matched, rep.OtherKey, rep.Newest, rep.Failures = cps.Checked, cps.Matched, cps.OtherKey, cps.Newest, cps.Failures
	if len(rep.Failures) > 0 {
		return rep, fmt.Errorf("%w: %d of %d signed checkpoints do not match the log (first: %s)",
			ErrAuditTampered, len(rep.Failures), rep.Checkpoints, rep.Failures[0])
	}
	return rep, nil
}

// String is the report as kirokud -verify-audit prints it.
func (r AuditReport) String() string {
	s := fmt.Sprintf("audit log: %d entries, hash chain intact\ncheckpoints: %d in the store, %d match the log", r.Entries, r.Checkpoints, r.Matched)
	if r.OtherKey > 0 {
		s += fmt.Sprintf(", %d signed with another master key (not checked)", r.OtherKey)
	}
	if r.Matched > 0 {
		s += fmt.Sprintf("; the newest names entry %d", r.Newest)
	}
	for _, f := range r.Failures {
		s += "\nmismatch: " + f
	}
	if r.Matched == 0 && r.Entries > 0 {
		s += "\nwarning: no checkpoint of this key anchors the log, so a log rewritten whole would verify"
	}
	return s
}
