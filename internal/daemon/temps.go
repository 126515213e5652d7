package daemon

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/storage/fs"
)

// storeTempAge is how old a temporary of the fs store must be for the
// sweep to take it for one a crash left (an fs Put takes seconds; one of
// another process using the folder may be in progress).
const storeTempAge = time.Hour

// sweepStoreTemps removes, at start and every storeTempAge, the
// temporaries of fs store Puts that a kill -9 or a power loss cut short:
// hidden from the store's listings, they would stay for good.
func (d *Daemon) sweepStoreTemps(ctx context.Context, st *fs.Store) {
	for {
		switch n, size, err := st.RemoveTemps(storeTempAge); {
		case err != nil:
			d.log.Error("fs store temporaries not all removed", zap.Int("removed", n), zap.Error(err))
		case n > 0:
			d.log.Warn("removed temporary files of interrupted puts from the fs store", zap.Int("files", n), zap.Int64("bytes", size))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(storeTempAge):
		}
	}
}
