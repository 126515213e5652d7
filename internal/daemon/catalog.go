package daemon

import (
	"context"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// openCatalog opens the configured catalog: the SQLite file, or the
// PostgreSQL database whose connection string is in the environment
// variable catalog.dsn_env names (never in the file, never logged).
func openCatalog(ctx context.Context, cfg *config.Config) (*catalog.Catalog, error) {
	if cfg.Catalog.Driver != config.CatalogPostgres {
		return catalog.Open(ctx, cfg.Catalog.Path)
	}
	dsn, err := cfg.Catalog.DSN()
	if err != nil {
		return nil, err
	}
	return catalog.OpenPostgres(ctx, dsn)
}
