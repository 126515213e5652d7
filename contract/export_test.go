package contract

import (
	"context"
	"errors"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
)

// ConfirmUntilShred is Confirm of every exported item of run id, with
// the real verification and destruction transaction, stopped right after
// that transaction commits and before any object is deleted: the state
// a crash (kill -9) at that point leaves.
func (s *Service) ConfirmUntilShred(ctx context.Context, actor, id string) error {
	db := s.o.Catalog.DB()
	run, err := catalog.GetContractEnd(ctx, db, id)
	if err != nil {
		return err
	}
	err = catalog.EachContractEndItem(ctx, db, id, func(it *catalog.ContractEndItem) error {
		return s.verified(ctx, actor, run, it, "checksums confirmed by the recipient")
	}, catalog.ItemExported)
	if err != nil {
		return err
	}
	batch, err := catalog.ContractEndItems(ctx, db, id, "", destroyBatch, catalog.ItemVerified)
	if err != nil {
		return err
	}
	crashed := *s
	crashed.destroyer = recording.NewDestroyer(s.o.Catalog, crashStore{s.o.Store})
	if err := crashed.shred(ctx, actor, run, batch); !errors.Is(err, errCrashed) {
		return errors.Join(errors.New("the objects' deletion was not reached"), err)
	}
	return nil
}

// errCrashed is what crashStore's deletes fail with.
var errCrashed = errors.New("crashed before deleting")

// crashStore deletes nothing: the process "died" once the destruction
// transaction committed.
type crashStore struct{ storage.Store }

func (crashStore) Delete(_ context.Context, keys []string) []storage.DeleteResult {
	out := make([]storage.DeleteResult, len(keys))
	for i, k := range keys {
		out[i] = storage.DeleteResult{Key: k, Err: errCrashed}
	}
	return out
}
