package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// RebuildCatalog writes a new catalog at out from the store's manifests,
// taking wrapped data keys from the catalog backup keysFrom when given.
// It refuses to overwrite an existing file.
func RebuildCatalog(ctx context.Context, cfg *config.Config, out, keysFrom string, log *zap.Logger) (upload.RebuildResult, error) {
	var res upload.RebuildResult
	if _, err := os.Stat(out); err == nil {
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
	cat, err := catalog.Open(ctx, out)
	if err != nil {
		return res, err
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
	res, err = upload.Rebuild(ctx, st, keys, cat, old)
	return res, errors.Join(err, cat.Close())
}
