package transcode

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// Options configure a Transcoder.
type Options struct {
	Catalog *catalog.Catalog
	Store   storage.Store
	Keys    *crypt.Keyring
	// TempDir holds the decrypted and encoded audio while one recording is
	// converted (default os.TempDir()).
	TempDir string
	// Share is the fraction of one CPU the conversions may take, in
	// (0, 1] (default 0.5): after each conversion the worker rests for
	// the time it worked times (1-Share)/Share.
	Share float64
	// ShareNow, when set, gives Share afresh before each rest (the
	// configuration in force, after a reload).
	ShareNow func() float64
	// Scan is how often the queue is looked at without a Kick (default 30s).
	Scan time.Duration
	// Margin: a recording due for deletion within it is taken off the
	// queue unconverted (default 24h). The conversion would save little,
	// and a purge that read the row before a switch would delete the old
	// object and leave the new one.
	Margin time.Duration
	// ObjectLock asks the store to lock new objects until their
	// retention date (the uploader queues none under Object Lock; this is
	// for a queue left from before it was turned on).
	ObjectLock bool
	Log        *zap.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Stats are the transcoder's figures, for metrics.
type Stats struct {
	Pending   int    // queued conversions at the last look
	Converted uint64 // recordings switched to their purpose's format
	Failed    uint64 // attempts that failed (each is retried)
}

// Transcoder converts queued recordings, one at a time.
type Transcoder struct {
	o         Options
	kick      chan struct{}
	destroyer *recording.Destroyer // the old objects go through it
	lock      *catalog.Lock        // held by the pass running (Pass is not concurrent)

	mu    sync.Mutex
	stats Stats
}

// New returns a transcoder; Run starts it.
func New(o Options) *Transcoder {
	if o.Share <= 0 || o.Share > 1 {
		o.Share = 0.5
	}
	if o.Scan <= 0 {
		o.Scan = 30 * time.Second
	}
	if o.Margin <= 0 {
		o.Margin = 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Transcoder{o: o, kick: make(chan struct{}, 1), destroyer: recording.NewDestroyer(o.Catalog, o.Store)}
}

// Kick asks for a pass now (a recording was queued).
func (t *Transcoder) Kick() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// Stats returns the current figures.
func (t *Transcoder) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// Run converts the queue until ctx ends.
func (t *Transcoder) Run(ctx context.Context) error {
	for {
		if err := t.Pass(ctx); err != nil && ctx.Err() == nil {
			t.o.Log.Warn("transcode pass stopped; retrying", zap.Duration("in", t.o.Scan), zap.Error(err))
		}
		tm := time.NewTimer(t.o.Scan)
		select {
		case <-ctx.Done():
			tm.Stop()
			return nil
		case <-t.kick:
			tm.Stop()
		case <-tm.C:
		}
	}
}

// lockName is the catalog lock a pass holds.
const lockName = "transcode"

// batch is how many queued rows a pass reads at a time.
const batch = 100

// Pass works through the queue once: each recording is converted, or
// finished, or left for a later pass (held, restricted), at the
// configured share of a CPU. A recording whose conversion fails is
// counted, its error kept in the queue, and the pass goes on; an error
// of the catalog stops it.
func (t *Transcoder) Pass(ctx context.Context) error {
	// One converter across the nodes sharing the catalog: two converting
	// the same recording would each take the other's switch for a change
	// of the row.
	l, err := t.o.Catalog.TryLock(ctx, lockName)
	if errors.Is(err, catalog.ErrLocked) {
		return nil
	}
	if err != nil {
		return err
	}
	defer l.Release()
	t.lock = l
	defer func() { t.lock = nil }()
	t.countPending(ctx)
	after := ""
	for {
		qs, err := t.o.Catalog.Transcodes(ctx, after, batch)
		if err != nil {
			return err
		}
		if len(qs) == 0 {
			t.countPending(ctx)
			return nil
		}
		for _, q := range qs {
			after = q.ID
			if ctx.Err() != nil {
				return ctx.Err()
			}
			began := time.Now()
			worked, err := t.one(ctx, q)
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil:
				t.mu.Lock()
				t.stats.Failed++
				t.mu.Unlock()
				t.o.Log.Warn("conversion failed; retried next pass", zap.String("call_id", q.ID),
					zap.String("audio_format", q.Format), zap.Error(err))
				if ferr := catalog.FailTranscode(ctx, t.o.Catalog.DB(), q.ID, err.Error()); ferr != nil {
					return ferr
				}
			}
			if worked {
				t.rest(ctx, time.Since(began))
			}
		}
	}
}

// rest waits so that work out of the time worked plus rested is Share.
func (t *Transcoder) rest(ctx context.Context, worked time.Duration) {
	share := t.o.Share
	if t.o.ShareNow != nil {
		if s := t.o.ShareNow(); s > 0 && s <= 1 {
			share = s
		}
	}
	if share >= 1 {
		return
	}
	d := time.Duration(float64(worked) * (1 - share) / share)
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
}

func (t *Transcoder) countPending(ctx context.Context) {
	if n, err := t.o.Catalog.CountTranscodes(ctx); err == nil {
		t.mu.Lock()
		t.stats.Pending = n
		t.mu.Unlock()
	}
}

// errWait marks a recording whose row changed under a conversion (held,
// restricted, another object): nothing was switched.
var errWait = errors.New("the recording changed during its conversion")

// errAgain marks a conversion to do again from the row as it is now.
var errAgain = errors.New("converted from a stale row")

// one takes queued recording q a step to its end: converted and
// switched, finished after a switch, dropped (the recording is gone, or
// due for deletion soon), or left (held, restricted, being purged).
// worked says whether it encoded anything.
func (t *Transcoder) one(ctx context.Context, q *catalog.Transcode) (worked bool, err error) {
	rec, err := catalog.GetRecording(ctx, t.o.Catalog.DB(), q.ID)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		// Destroyed meanwhile (purge, erasure, contract end), which deleted
		// the objects its row named: whatever a conversion put goes too,
		// never to bring the recording back.
		return false, t.drop(ctx, q, true)
	case err != nil:
		return false, err
	}
	if q.OldKey != "" {
		return false, t.finish(ctx, q, rec)
	}
	switch {
	case rec.LegalHold, rec.State != catalog.StateStored:
		// Held: the stored object stays as it is, readable, until the hold
		// is released. Restricted (stop of use) or being purged: no new
		// copy is made. What an attempt put before that is deleted.
		if q.NewKey != "" {
			return false, t.drop(ctx, q, false)
		}
		return false, nil
	case rec.RetainUntil.Before(t.o.Now().Add(t.o.Margin)):
		t.o.Log.Info("recording due for deletion soon: not converted", zap.String("call_id", q.ID),
			zap.Time("retain_until", rec.RetainUntil))
		return false, t.drop(ctx, q, false)
	}
	err = t.convert(ctx, q, rec)
	if errors.Is(err, errWait) {
		return true, t.drop(ctx, q, false)
	}
	return true, err
}

// drop deletes what a conversion of q put (its new object; with gone,
// the old object and the manifest too, for a recording destroyed
// meanwhile) and, for a recording gone or no longer to be converted,
// takes it off the queue. A held or restricted recording stays queued.
func (t *Transcoder) drop(ctx context.Context, q *catalog.Transcode, gone bool) error {
	if !gone {
		// Never the object the row names (switched to by another path).
		cur, err := catalog.GetRecording(ctx, t.o.Catalog.DB(), q.ID)
		switch {
		case err == nil && cur.ObjectKey == q.NewKey:
			return catalog.DoneTranscode(ctx, t.o.Catalog.DB(), q.ID)
		case err != nil && !errors.Is(err, catalog.ErrNotFound):
			return err
		}
	}
	r := &catalog.Recording{ID: q.ID, ObjectKey: q.NewKey}
	recs := []*catalog.Recording{r}
	if gone && q.OldKey != "" {
		recs = append(recs, &catalog.Recording{ID: q.ID, ObjectKey: q.OldKey})
	}
	if gone && q.NewKey != "" {
		r.ManifestKey = manifestKeyOf(q.NewKey)
	}
	if u := t.destroyer.DeleteObjects(ctx, recs); len(u) > 0 {
		return fmt.Errorf("delete %s: %w", u[0].Key, u[0].Err)
	}
	db := t.o.Catalog.DB()
	rec, err := catalog.GetRecording(ctx, db, q.ID)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
	case err != nil:
		return err
	case rec.LegalHold || rec.State != catalog.StateStored:
		return catalog.StartTranscode(ctx, db, q.ID, "") // nothing put now; converted once released
	}
	return catalog.DoneTranscode(ctx, db, q.ID)
}
