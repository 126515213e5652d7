package contract

import (
	"context"

	"github.com/kiroku-voice/kiroku/catalog"
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
	return s.shred(ctx, actor, run, batch)
}
