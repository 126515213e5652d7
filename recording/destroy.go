package recording

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/storage"
)

// Destroyer destroys stored recordings: the one way the purge, erasure
// and contract end delete a recording, so that every deletion leaves a
// tombstone and exactly one audit entry, legal holds always win, and the
// objects go too. It is built once on the catalog (which holds the audit
// log) and the store.
type Destroyer struct {
	cat *catalog.Catalog
	st  storage.Store
}

// NewDestroyer returns a Destroyer of the recordings of cat stored in st.
func NewDestroyer(cat *catalog.Catalog, st storage.Store) *Destroyer {
	return &Destroyer{cat: cat, st: st}
}

// Destruction says why and how Destroy destroys a set of recordings. What
// differs between the paths that destroy (audit actions, the order of
// steps, their own bookkeeping) is said here, not written again.
type Destruction struct {
	At     time.Time // when, for the tombstones
	Reason string    // why, for the tombstones
	Actor  string    // by whom, for the tombstones
	// Entry returns the audit entry of one recording destroyed, from its
	// row as read in the transaction. It is required.
	Entry func(rec *catalog.Recording) audit.Entry
	// ObjectsFirst deletes the objects before the tombstone transaction,
	// for a destruction that is only done once the objects are gone (the
	// purge: a store that refuses, such as one under Object Lock, keeps
	// the recording whole for the next run). A recording whose objects
	// the store refused is then not tombstoned but listed in
	// Outcome.Refused; one whose transaction does not commit (ctx ended,
	// Check failed) must be marked by the caller so that its next run
	// finds it (the purge's purging state). Without it the tombstone comes
	// first — crypto-shredding, the destruction itself — and the objects
	// are deleted after the commit; those the store kept are listed in
	// Outcome.Undeleted, for the caller to retry with DeleteObjects.
	ObjectsFirst bool
	// Check, when set, is called right before the tombstone transaction;
	// its error stops Destroy there (a purge whose lock was lost).
	Check func(ctx context.Context) error
	// Each, when set, is called in the transaction for each recording
	// after its shredding, with its outcome: err is nil (destroyed and
	// audited), catalog.ErrHeld (under legal hold, untouched; rec is its
	// row) or catalog.ErrNotFound (gone by another path, which audited
	// it; rec is nil). app appends further entries in the transaction. Its
	// error rolls the whole transaction back.
	Each func(ctx context.Context, tx *sql.Tx, app *audit.Appender, id string, rec *catalog.Recording, err error) error
	// Commit, when set, is called last in the transaction with what it
	// did; its error rolls the transaction back.
	Commit func(ctx context.Context, tx *sql.Tx, o *Outcome) error
}

// Outcome is what Destroy did.
type Outcome struct {
	// Destroyed are the rows replaced by tombstones, as read in the
	// transaction, each audited once.
	Destroyed []*catalog.Recording
	// Held are the rows under legal hold, left as they were.
	Held []*catalog.Recording
	// Gone are the recordings another path (a purge, an erasure) deleted
	// first; that path audited them.
	Gone []string
	// Refused are, with ObjectsFirst, the recordings whose objects the
	// store did not delete (by id); they were not tombstoned.
	Refused map[string]error
	// Undeleted are, without ObjectsFirst, the objects of destroyed
	// recordings the store kept; their data keys are destroyed all the
	// same, so they cannot be read.
	Undeleted []Undeleted
}

// Undeleted is one object the store did not delete.
type Undeleted struct {
	ID  string // recording
	Key string
	Err error
}

// Destroy destroys recs, as read by the caller: in one catalog
// transaction each row still there and not under legal hold is read
// again, replaced by its tombstone (its wrapped data key and caller number
// go with it) and audited with how.Entry (catalog.Tombstoner.Shred), and
// its audio and manifest objects are deleted — after the commit, or
// before it with how.ObjectsFirst. Only the rows' ids are used, but for
// their object keys with how.ObjectsFirst. A recording held or gone is
// neither touched nor audited. An error from the transaction leaves
// nothing of it committed.
func (d *Destroyer) Destroy(ctx context.Context, recs []*catalog.Recording, how Destruction) (*Outcome, error) {
	o := &Outcome{}
	if how.ObjectsFirst {
		o.Refused = map[string]error{}
		for _, u := range d.DeleteObjects(ctx, recs) {
			if _, ok := o.Refused[u.ID]; !ok {
				o.Refused[u.ID] = u.Err
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err // interrupted: the caller's mark finishes it next run
		}
	}
	if how.Check != nil {
		if err := how.Check(ctx); err != nil {
			return nil, err
		}
	}
	err := d.cat.Tx(ctx, func(tx *sql.Tx) error {
		*o = Outcome{Refused: o.Refused}
		ts, err := catalog.NewTombstoner(ctx, tx)
		if err != nil {
			return err
		}
		defer ts.Close()
		app, err := audit.NewAppender(ctx, tx)
		if err != nil {
			return err
		}
		defer app.Close()
		for _, r := range recs {
			if _, refused := o.Refused[r.ID]; refused {
				continue
			}
			got, err := ts.Shred(ctx, r.ID, how.At, how.Reason, how.Actor, func(got *catalog.Recording) error {
				_, err := app.Append(ctx, how.Entry(got))
				return err
			})
			switch {
			case errors.Is(err, catalog.ErrNotFound):
				o.Gone = append(o.Gone, r.ID)
				err, got = catalog.ErrNotFound, nil
			case errors.Is(err, catalog.ErrHeld):
				o.Held = append(o.Held, got)
				err = catalog.ErrHeld
			case err != nil:
				return err
			default:
				o.Destroyed = append(o.Destroyed, got)
			}
			if how.Each != nil {
				if err := how.Each(ctx, tx, app, r.ID, got, err); err != nil {
					return err
				}
			}
		}
		if how.Commit != nil {
			return how.Commit(ctx, tx, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !how.ObjectsFirst {
		o.Undeleted = d.DeleteObjects(ctx, o.Destroyed)
	}
	return o, nil
}

// DeleteObjects deletes the audio and manifest objects of recs (only
// their ids and object keys are used), in as few store requests as it
// can, and returns the objects the store kept. It is Destroy's last step,
// and how a destruction stopped after its commit (a crash, a store down)
// is finished by a later run: keys already gone are not an error.
func (d *Destroyer) DeleteObjects(ctx context.Context, recs []*catalog.Recording) []Undeleted {
	var keys []string
	owner := map[string]string{}
	for _, r := range recs {
		for _, k := range ObjectKeys(r) {
			keys = append(keys, k)
			owner[k] = r.ID
		}
	}
	if len(keys) == 0 {
		return nil
	}
	var out []Undeleted
	for _, res := range d.st.Delete(ctx, keys) {
		if res.Err != nil && !errors.Is(res.Err, storage.ErrNotFound) {
			out = append(out, Undeleted{ID: owner[res.Key], Key: res.Key, Err: res.Err})
		}
	}
	return out
}
