package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// Check runs, without starting anything, the checks of cfg that New runs
// beyond config.Load and CheckEnv, with the same errors, so that kirokud
// -check-config fails where the start would: the master keys parse (a
// default master.key not there yet is fine: the start creates it), the
// S3 store has its credentials (file or environment; the service is not
// reached), and no purpose or client removed from cfg is still carried by
// the catalog's recordings. It creates no key, no store folder and no
// catalog (one not there yet holds nothing); an existing catalog is
// opened as the start opens it.
func Check(ctx context.Context, cfg *config.Config) error {
	var errs []error
	if len(cfg.Encryption.Keys) > 0 || fileExists(filepath.Join(cfg.DataDir, "keys", "master.key")) {
		if _, err := keyring(cfg, zap.NewNop()); err != nil {
			errs = append(errs, err)
		}
	} else {
		// The global key is created by the first start; the clients'
		// own keys are read from their files as the start reads them.
		k, err := crypt.NewKeyring("check", map[string][]byte{"check": make([]byte, crypt.KeySize)})
		if err == nil {
			err = clientKeys(k, cfg, zap.NewNop())
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.Storage.Backend == "s3" {
		st, err := buildS3(cfg)
		if err != nil {
			errs = append(errs, err)
		} else {
			st.Close()
		}
	}
	if cfg.Catalog.Driver == config.CatalogPostgres || fileExists(cfg.Catalog.Path) {
		cat, err := openCatalog(ctx, cfg)
		if err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, retention.CheckPurposes(ctx, cat, cfg.Purposes),
				retention.CheckClients(ctx, cat, cfg.Clients), cat.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", cfg.Source, err)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
