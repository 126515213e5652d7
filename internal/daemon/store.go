package daemon

import (
	"context"
	"fmt"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/fs"
)

// openStore builds the configured blob store.
func openStore(ctx context.Context, cfg *config.Config) (storage.Store, error) {
	switch cfg.Storage.Backend {
	case "s3":
		return openS3(ctx, cfg)
	default:
		st, err := fs.New(cfg.Storage.Dir)
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		return st, nil
	}
}
