package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/fs"
)

// checker is a store that can check its service (S3: the bucket) apart
// from using it.
type checker interface {
	Check(ctx context.Context) error
}

// Checking the store at start waits at most storeCheckTimeout (a store
// that takes longer to answer a bucket check is as good as hung, and
// start must stay well under 5 s: TestStartWhileStoreDown); while it is
// unreachable it is checked again every storeCheckEvery.
const storeCheckTimeout = 2 * time.Second

// storeCheckEvery is how often a store unreachable at start is checked
// again (a variable for the tests).
var storeCheckEvery = 15 * time.Second

// openStore builds the configured store and checks it: for tools, such
// as the catalog rebuild, that cannot work without it.
func openStore(ctx context.Context, cfg *config.Config) (storage.Store, error) {
	st, err := buildStore(cfg)
	if err != nil {
		return nil, err
	}
	// As the daemon's: a hung store fails the tool at the stall timeout
	// instead of holding it without a word.
	st = storage.Stalling(st, time.Duration(cfg.Storage.StallTimeout))
	if c, ok := st.(checker); ok {
		if err := c.Check(ctx); err != nil {
			return nil, errors.Join(fmt.Errorf("storage: %w", err), st.Close())
		}
	}
	return st, nil
}

// buildStore builds the configured store without reaching its service.
func buildStore(cfg *config.Config) (storage.Store, error) {
	switch cfg.Storage.Backend {
	case "s3":
		return buildS3(cfg)
	default:
		st, err := fs.New(cfg.Storage.Dir)
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		return st, nil
	}
}

// checkStoreAtStart checks the store for up to storeCheckTimeout. An
// answer that the bucket or the credentials are wrong refuses the start
// (the error names it); a store that cannot be reached or does not
// answer in time does not: the toll-free lines must not go down with the
// storage, so calls are taken, recordings wait in the spool, and the
// daemon keeps checking (watchStore). It reports whether the store was
// reached.
func (d *Daemon) checkStoreAtStart(ctx context.Context) (bool, error) {
	c, ok := d.store.(checker)
	if !ok {
		return true, nil
	}
	cctx, cancel := context.WithTimeout(ctx, storeCheckTimeout)
	defer cancel()
	err := c.Check(cctx)
	switch {
	case err == nil:
		return true, nil
	case ctx.Err() != nil:
		return false, fmt.Errorf("storage: %w", ctx.Err())
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		d.log.Error("store unreachable at start; taking calls, recordings wait in the spool until it answers", zap.Error(err))
		return false, nil
	default:
		return false, fmt.Errorf("storage: %w", err)
	}
}

// watchStore checks an unreachable store every storeCheckEvery until it
// answers, and says so; a wrong bucket found then is logged as an error
// every time (uploads cannot succeed until the configuration is fixed).
func (d *Daemon) watchStore(ctx context.Context) {
	check := func(context.Context) error { return nil } // a store with no check of its own (fs)
	if c, ok := d.store.(checker); ok {
		check = c.Check
	}
	t := time.NewTicker(storeCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, storeCheckTimeout)
		err := check(cctx)
		cancel()
		switch {
		case err == nil:
			d.log.Info("store reachable")
			d.uploader.Kick()
			switch err := d.checkContinuityWithin(ctx); {
			case ctx.Err() != nil:
				return
			case unanswered(err):
				d.log.Warn("catalog continuity not checked: the store did not answer in time; checked again", zap.Error(err))
				continue
			case err != nil:
				d.log.Error("the catalog is behind its store; the orphan sweep deletes nothing until kirokud restarts on a catalog that is not", zap.Error(err))
			default:
				d.log.Info("catalog continuity checked against the store")
				d.continuous.Store(true)
			}
			return
		case ctx.Err() != nil:
			return
		case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
			d.log.Debug("store still unreachable", zap.Error(err))
		default:
			d.log.Error("store answers but refuses the configuration; recordings wait in the spool", zap.Error(err))
		}
	}
}
