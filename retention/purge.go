package retention

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
)

// ErrBusy is returned by Purge while another purge runs.
var ErrBusy = errors.New("a purge is already running")

// ErrElsewhere is returned by Purge while another kirokud node sharing
// the catalog holds the purge lock, and by PurgeScheduled when another
// ran that scheduled purge: the run is skipped but for this node's own
// spool.
var ErrElsewhere = errors.New("a purge is running on another node")

// lockName is the catalog lock (catalog.TryLock) a purge run holds: one
// purge at a time across every node sharing the catalog.
const lockName = "purge"

// Actor is the audit actor of retention's own acts.
const Actor = "retention"

// Options configure a Purger.
type Options struct {
	Catalog *catalog.Catalog
	Store   storage.Store
	Spool   *spool.Dir // recordings never uploaded are purged there too
	// RetainUntil gives the retention date of a spooled call (from its
	// client and purpose); ok is false for an unknown purpose or client
	// (kept).
	RetainUntil func(client, purpose string, started time.Time) (time.Time, bool)
	Log         *zap.Logger
	Now         func() time.Time // injected clock; default time.Now
	Batch       int              // rows per batch (and per S3 delete request); default 2000
}

// Purger deletes what is past its retention.
type Purger struct {
	o         Options
	destroyer *recording.Destroyer
	running   sync.Mutex
	// afterRead, when set (by tests), runs after each batch of expired
	// recordings is read and before it is marked: where another node's
	// hold or state change may come in between.
	afterRead func()
}

// New returns a Purger.
func New(o Options) *Purger {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Batch <= 0 {
		o.Batch = 2000
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return &Purger{o: o, destroyer: recording.NewDestroyer(o.Catalog, o.Store)}
}

// Result is what one purge did.
type Result struct {
	Deleted   int            // recordings deleted, with tombstones
	Failed    int            // recordings whose objects could not be deleted (retried next run)
	Held      int            // recordings past their date kept by a legal hold
	Spool     int            // spooled calls deleted past their date
	ByPurpose map[string]int // deleted per purpose
	Duration  time.Duration
}

// Purge runs one purge now. It returns ErrBusy, doing nothing, when one is
// already running here: two schedules never overlap. It returns
// ErrElsewhere when another node sharing the catalog runs one, having
// purged only this node's spool (which no other node sees).
//
// The run holds the catalog's purge lock, and checks it is still held
// before each step that deletes: a run whose lock was lost (its database
// session ended, and another node may have taken over) stops with
// catalog.ErrLockLost, leaving what it started for the next run.
func (p *Purger) Purge(ctx context.Context) (Result, error) {
	return p.purge(ctx, time.Time{})
}

// PurgeScheduled is Purge for the run its schedule set at slot (the cron
// activation time, the same instant on every node). When a node sharing
// the catalog has run that slot's purge already, or a later one, it
// returns ErrElsewhere as Purge does while another node runs: a schedule
// firing on every node runs once, however quick the first run is.
func (p *Purger) PurgeScheduled(ctx context.Context, slot time.Time) (Result, error) {
	return p.purge(ctx, slot)
}

// purge runs a purge, for slot unless it is zero.
func (p *Purger) purge(ctx context.Context, slot time.Time) (res Result, err error) {
	if !p.running.TryLock() {
		return Result{}, ErrBusy
	}
	defer p.running.Unlock()
	start := time.Now()
	res = Result{ByPurpose: map[string]int{}}
	lock, err := p.o.Catalog.TryLock(ctx, lockName)
	if errors.Is(err, catalog.ErrLocked) {
		return p.spoolOnly(ctx, res, start)
	}
	if err != nil {
		return res, fmt.Errorf("purge: %w", err)
	}
	defer func() {
		if rerr := lock.Release(); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	if !slot.IsZero() {
		var claimed bool
		err := p.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			claimed, err = catalog.ClaimRun(ctx, tx, lockName, slot, p.o.Now())
			return err
		})
		if err != nil {
			return res, fmt.Errorf("purge: %w", err)
		}
		if !claimed {
			return p.spoolOnly(ctx, res, start)
		}
	}
	now := p.o.Now()
	failed := map[string]bool{}
	skip := map[string]bool{} // not purged this run: failed, or changed after they were read
	for {
		if err := lock.Check(ctx); err != nil {
			return res, err
		}
		recs, err := p.o.Catalog.Expired(ctx, now, p.o.Batch+len(skip))
		if err != nil {
			return res, err
		}
		var batch []*catalog.Recording
		for _, r := range recs {
			if !skip[r.ID] {
				batch = append(batch, r)
			}
		}
		if len(batch) == 0 {
			break
		}
		if len(batch) > p.o.Batch {
			batch = batch[:p.o.Batch]
		}
		if p.afterRead != nil {
			p.afterRead()
		}
		if err := p.purgeBatch(ctx, lock, now, batch, skip, failed, &res); err != nil {
			return res, err
		}
	}
	res.Failed = len(failed)
	if res.Held, err = p.held(ctx, now); err != nil {
		return res, err
	}
	if p.o.Spool != nil {
		n, err := p.purgeSpool(ctx, now)
		res.Spool = n
		if err != nil {
			return res, err
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// purgeBatch deletes one batch: first it marks the rows as purging (so an
// interrupted run finishes them), then destroys them with the
// recording.Destroyer, objects first: it deletes their objects, then
// writes a tombstone and an audit entry for each recording whose objects
// are all gone, in one transaction. Only rows still unheld, due and in
// the state they were read in are marked: one held, given a later date or
// restricted since the read is left alone this run (added to skip). A
// recording whose delete failed goes back to its state and is retried
// next run. A recording whose row another transaction replaced meanwhile
// (another node's purge, after this run lost its lock) is neither audited
// nor counted again; one held after it was marked keeps its row.
func (p *Purger) purgeBatch(ctx context.Context, lock *catalog.Lock, now time.Time, batch []*catalog.Recording, skip, failed map[string]bool, res *Result) error {
	read := batch
	if err := p.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		batch, err = catalog.MarkPurging(ctx, tx, now, read)
		return err
	}); err != nil {
		return err
	}
	if len(batch) < len(read) {
		marked := map[string]bool{}
		for _, r := range batch {
			marked[r.ID] = true
		}
		for _, r := range read {
			if !marked[r.ID] {
				skip[r.ID] = true
				p.o.Log.Info("recording changed since the purge read it (held, restricted or kept longer); left for the next run", zap.String("id", r.ID))
			}
		}
	}
	if len(batch) == 0 {
		return nil
	}
	out, err := p.destroyer.Destroy(ctx, batch, recording.Destruction{
		At: now, Reason: "retention", Actor: Actor, ObjectsFirst: true,
		Check: lock.Check, // another node may be finishing them already
		Entry: func(got *catalog.Recording) audit.Entry {
			detail, _ := json.Marshal(map[string]any{"purpose": got.Purpose, "retain_until": got.RetainUntil, "object_key": got.ObjectKey})
			return audit.Entry{Actor: Actor, Action: audit.ActionDelete, Target: got.ID,
				Reason: "retention period of purpose " + got.Purpose + " ended", Detail: string(detail)}
		},
		// Refused deletes go back to the state they had (a restricted
		// recording stays restricted), in the same transaction.
		Commit: func(ctx context.Context, tx *sql.Tx, o *recording.Outcome) error {
			back := map[string][]string{} // previous state -> ids refused
			for _, r := range batch {
				if _, ok := o.Refused[r.ID]; ok {
					prev := r.State
					if prev == catalog.StatePurging { // left by an interrupted run
						prev = catalog.StateStored
					}
					back[prev] = append(back[prev], r.ID)
				}
			}
			for state, ids := range back {
				if err := catalog.SetState(ctx, tx, state, ids...); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		return err // interrupted: the purging rows are finished next run
	}
	for _, r := range batch {
		if err, ok := out.Refused[r.ID]; ok {
			failed[r.ID], skip[r.ID] = true, true
			p.o.Log.Warn("recording past retention not deleted; retried next run", zap.String("id", r.ID), zap.Error(err))
		}
	}
	// Held after its deletion began: the objects may be gone, but what
	// the hold still can keep (the row, evidence of the call) stays,
	// marked purging, until it is released. One gone was replaced first by
	// another transaction, which audited it.
	for _, r := range out.Held {
		skip[r.ID] = true
		p.o.Log.Warn("recording held while its purge ran; row kept", zap.String("id", r.ID))
	}
	for _, got := range out.Destroyed {
		res.Deleted++
		res.ByPurpose[got.Purpose]++
	}
	return nil
}

// spoolOnly purges this node's spool alone, for a run that another node
// does, and returns ErrElsewhere.
func (p *Purger) spoolOnly(ctx context.Context, res Result, start time.Time) (Result, error) {
	if p.o.Spool != nil {
		n, err := p.purgeSpool(ctx, p.o.Now())
		res.Spool, res.Duration = n, time.Since(start)
		if err != nil {
			return res, fmt.Errorf("%w; this node's spool: %w", ErrElsewhere, err)
		}
	}
	return res, ErrElsewhere
}

func (p *Purger) held(ctx context.Context, now time.Time) (int, error) {
	return p.o.Catalog.HeldPastDate(ctx, now)
}

// purgeSpool deletes calls still in the spool (the store was down all
// along) whose retention has ended, with an audit entry each.
func (p *Purger) purgeSpool(ctx context.Context, now time.Time) (int, error) {
	ms, err := p.o.Spool.Finished(nil)
	if err != nil {
		return 0, fmt.Errorf("purge spool: %w", err)
	}
	n := 0
	for _, m := range ms {
		id := m.ID
		until, ok := p.o.RetainUntil(m.Client, m.Purpose, m.StartedAt)
		if !ok || until.After(now) {
			continue
		}
		if err := p.o.Spool.Remove(id); err != nil {
			return n, fmt.Errorf("purge spool %s: %w", id, err)
		}
		if _, err := audit.Append(ctx, p.o.Catalog.DB(), audit.Entry{Actor: Actor, Action: audit.ActionDelete, Target: id,
			Reason: "retention period of purpose " + m.Purpose + " ended before the recording could be stored",
			Detail: `{"where":"spool"}`}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
