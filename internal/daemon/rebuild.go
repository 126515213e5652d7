package daemon

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// RebuildIntoConfigured is the -rebuild-catalog target that means the
// configured PostgreSQL catalog (an empty database) rather than a new
// SQLite file.
const RebuildIntoConfigured = "postgres"

// RebuildCatalog writes a new catalog from the store's manifests, taking
// wrapped data keys and the whole audit log (audit.Carry: the rebuild's
// entries chain onto it) from the catalog backup keysFrom when given: a new
// SQLite file at out, or, when out is RebuildIntoConfigured, the
// configured PostgreSQL catalog, which must hold no recording, tombstone
// or audit entry. It never overwrites a catalog.
func RebuildCatalog(ctx context.Context, cfg *config.Config, out, keysFrom string, log *zap.Logger) (recording.RebuildResult, error) {
	var res recording.RebuildResult
	intoPG := out == RebuildIntoConfigured
	if intoPG && cfg.Catalog.Driver != config.CatalogPostgres {
		return res, fmt.Errorf("rebuild: %q names the configured PostgreSQL catalog, but catalog.driver is %s", out, cfg.Catalog.Driver)
	}
	if _, err := os.Stat(out); err == nil && !intoPG {
		return res, fmt.Errorf("rebuild: %s exists; give a new file", out)
	}
	keys, err := keyring(cfg, log)
	if err != nil {
		return res, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer st.Close()
	var cat *catalog.Catalog
	if intoPG {
		cat, err = openCatalog(ctx, cfg)
	} else {
		cat, err = catalog.Open(ctx, out)
	}
	if err != nil {
		return res, err
	}
	if intoPG {
		n, err := cat.Rows(ctx)
		if err == nil && n > 0 {
			err = fmt.Errorf("rebuild: the configured PostgreSQL catalog is not empty (%d rows); rebuild into a new database", n)
		}
		if err != nil {
			return res, errors.Join(err, cat.Close())
		}
	}
	var old *catalog.Catalog
	if keysFrom != "" {
		if _, err := os.Stat(keysFrom); err != nil {
			return res, errors.Join(fmt.Errorf("rebuild: keys from: %w", err), cat.Close())
		}
		if old, err = catalog.Open(ctx, keysFrom); err != nil {
			return res, errors.Join(err, cat.Close())
		}
		defer old.Close()
	}
	var carried int64
	if old != nil {
		// The backup's audit history first, so that the rebuild's own
		// entries chain onto it: a rebuild must not wipe the record of
		// who played, exported or deleted what.
		err := cat.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			carried, err = audit.Carry(ctx, old.DB(), tx)
			return err
		})
		if err != nil {
			return res, errors.Join(fmt.Errorf("rebuild: the audit log of %s: %w", keysFrom, err), cat.Close())
		}
	}
	res, err = recording.Rebuild(ctx, st, keys, cat, old)
	res.AuditCarried = carried
	if err == nil {
		err = signHead(ctx, cat, st, keys)
	}
	return res, errors.Join(err, cat.Close())
}

// signHead writes a checkpoint of cat's audit head into st: after a
// rebuild, the rebuilt catalog is the one the store answers to, and the
// continuity check at start holds kirokud to it from then on.
func signHead(ctx context.Context, cat *catalog.Catalog, st storage.Store, keys *crypt.Keyring) error {
	cp, err := audit.NewCheckpoint(ctx, cat.DB(), keys.AuditKey(), time.Now())
	if err != nil {
		return err
	}
	b := cp.Marshal()
	if _, err := st.Put(ctx, audit.CheckpointKey(cp.Seq), bytes.NewReader(b), int64(len(b)), storage.PutOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("rebuild: checkpoint of the rebuilt catalog: %w", err)
	}
	return nil
}
