package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
)

// ErrCatalogBehind is returned by New when the catalog is not the one the
// store was written with: lost, emptied or rolled back.
var ErrCatalogBehind = errors.New("the catalog is behind the store")

// recovery names what an operator does about ErrCatalogBehind.
const recovery = "restore the catalog from its backup, or rebuild it from the bucket with " +
	"kirokud -rebuild-catalog FILE -keys-from BACKUP; to start a new, empty catalog over this store anyway, start once with -accept-catalog"

// continuityTimeout bounds the continuity check's reads of the store
// (the checkpoints' listing, the newest one, a first recording): a store
// that answered its check and then hangs does not hold up the start.
var continuityTimeout = 30 * time.Second

// checkContinuityWithin is checkContinuity within continuityTimeout.
func (d *Daemon) checkContinuityWithin(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, continuityTimeout)
	defer cancel()
	err := d.checkContinuity(cctx)
	if err != nil && cctx.Err() != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		// A client that wraps the deadline its own way: it is the time
		// limit all the same.
		err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// unanswered reports whether err is a store that did not answer (in
// time, or at all) rather than an answer.
func unanswered(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, storage.ErrUnavailable)
}

// checkContinuity holds the catalog to what the store says exists: the
// newest signed audit checkpoint must name an entry the catalog holds
// with the same hash, and an empty catalog must not face a store that
// holds recordings. A catalog deleted, truncated or restored from an old
// backup would otherwise start as if nothing had been recorded, verify
// as intact, and let the orphan sweep delete the bucket.
func (d *Daemon) checkContinuity(ctx context.Context) error {
	cp, key, err := latestCheckpoint(ctx, d.store)
	if err != nil {
		return fmt.Errorf("catalog continuity: %w", err)
	}
	if cp != nil {
		err := audit.CheckCheckpoint(ctx, d.catalog.DB(), d.keys.AuditKey(), cp)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, audit.ErrCheckpointKey):
			// Signed with another master key: it says nothing of this
			// catalog. The object count below still does.
			d.log.Warn("newest audit checkpoint in the store is not signed with this master key; not used", zap.String("key", key))
		default:
			seq, _, herr := audit.Head(ctx, d.catalog.DB())
			return fmt.Errorf("%w: the store's signed audit checkpoint %s names entry %d, the catalog's audit log ends at %d (%v): %s",
				ErrCatalogBehind, key, cp.Seq, seq, errors.Join(err, herr), recovery)
		}
	}
	rows, err := d.catalog.Rows(ctx)
	if err != nil || rows > 0 {
		return err
	}
	found, err := anyRecording(ctx, d.store)
	if err != nil {
		return fmt.Errorf("catalog continuity: %w", err)
	}
	if found != "" {
		return fmt.Errorf("%w: the catalog is empty and the store holds recordings (%s): %s", ErrCatalogBehind, found, recovery)
	}
	return nil
}

// errFound stops a listing at its first match.
var errFound = errors.New("found")

// latestCheckpoint reads the newest checkpoint in st (nil when there is
// none).
func latestCheckpoint(ctx context.Context, st storage.Store) (*audit.Checkpoint, string, error) {
	var last string
	err := st.List(ctx, audit.CheckpointPrefix, func(o storage.Object) error {
		last = o.Key // key order is seq order
		return nil
	})
	if err != nil || last == "" {
		return nil, "", err
	}
	cp, err := recording.ReadCheckpoint(ctx, st, last)
	return cp, last, err
}

// anyRecording returns the key of one recording object in st, or "".
func anyRecording(ctx context.Context, st storage.Store) (string, error) {
	var found string
	err := st.List(ctx, "", func(o storage.Object) error {
		if strings.HasPrefix(o.Key, recording.AuditPrefix) {
			return nil
		}
		found = o.Key
		return errFound
	})
	if errors.Is(err, errFound) {
		err = nil
	}
	return found, err
}

// checkCatalogIntegrity runs the catalog's integrity check and keeps its
// result for the kiroku_catalog_integrity_ok gauge and the orphan sweep.
// Damage is logged and alerted on, not a refusal to start: the lines stay
// up and recordings keep reaching the store, while an operator restores
// the backup or rebuilds. It returns only ctx's error.
func (d *Daemon) checkCatalogIntegrity(ctx context.Context) error {
	err := d.catalog.QuickCheck(ctx)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, catalog.ErrCorrupt):
		d.catalogOK.Store(false)
		d.log.Error("the catalog database is damaged; the orphan sweep deletes nothing: "+recoveryDamaged, zap.Error(err))
	case err != nil:
		// The check could not run (a busy or closed database): the last
		// result stands.
		d.log.Warn("catalog integrity not checked", zap.Error(err))
	default:
		d.catalogOK.Store(true)
	}
	return nil
}

// recoveryDamaged names what an operator does about a damaged catalog.
const recoveryDamaged = "stop kirokud, keep the damaged file, and restore the catalog from its backup " +
	"or rebuild it from the bucket with kirokud -rebuild-catalog FILE -keys-from BACKUP"

// mayDeleteOrphans says whether the orphan sweep may delete: only over a
// catalog checked against its store and found undamaged.
func (d *Daemon) mayDeleteOrphans() bool { return d.continuous.Load() && d.catalogOK.Load() }
