package daemon

import (
	"context"
	"errors"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/storage"
)

func openS3(ctx context.Context, cfg *config.Config) (storage.Store, error) {
	return nil, errors.New("storage backend s3: not built yet")
}
