package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
)

// PurposePlan is what the next purge would do for one purpose — and, for
// lines run for a client, for that client's recordings of it apart (each
// client's retention limits may differ): the report a privacy officer
// shows an auditor or the client.
type PurposePlan struct {
	Purpose    string     `json:"purpose"`
	Client     string     `json:"client,omitempty"`
	Stored     int        `json:"stored"`
	Due        int        `json:"due"`  // would be deleted
	Held       int        `json:"held"` // past their date but held
	OldestKept *time.Time `json:"oldest_kept,omitempty"`
}

// Plan reports, per purpose and client, what a purge at the injected
// clock's now would delete and keep. It deletes nothing.
func (p *Purger) Plan(ctx context.Context) ([]PurposePlan, error) {
	counts, err := p.o.Catalog.DueCounts(ctx, p.o.Now())
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	var out []PurposePlan
	for _, c := range counts {
		out = append(out, PurposePlan{Purpose: c.Purpose, Client: c.Client, Stored: c.Stored, Due: c.Due, Held: c.Held, OldestKept: c.OldestKept})
	}
	return out, nil
}

// Orphan is an object the catalog does not know.
type Orphan struct {
	Key      string    `json:"key"`
	Modified time.Time `json:"modified"`
}

// A sweep that finds more than orphanFloor orphans, and more than
// MaxShare of the objects it looked at (DefaultOrphanShare unless the
// operator says otherwise), deletes none: so many objects without a row
// say the catalog is wrong (lost, replaced, pointed at another
// database), not the store.
const (
	orphanFloor = 10
	// DefaultOrphanShare is the share of the bucket above which a sweep
	// deletes nothing.
	DefaultOrphanShare = 0.1
)

// Sweep says how an orphan sweep runs.
type Sweep struct {
	Grace  time.Duration // objects younger than this are not looked at
	Remove bool          // delete the orphans found, each with an audit entry
	// MaxShare bounds, as a share of the objects looked at, the orphans a
	// sweep deletes: above it (and above orphanFloor) it deletes none
	// and returns ErrTooManyOrphans. 0 is DefaultOrphanShare; 1 lifts
	// the bound, as an operator who knows the catalog is right says.
	MaxShare float64
}

// ErrTooManyOrphans is returned by Orphans when it refused to delete.
var ErrTooManyOrphans = errors.New("orphan sweep refused to delete: too many objects without a catalog row for a catalog that matches its store")

// Orphans is Sweep with the default bound.
func (p *Purger) Orphans(ctx context.Context, grace time.Duration, remove bool) ([]Orphan, error) {
	return p.Sweep(ctx, Sweep{Grace: grace, Remove: remove})
}

// Sweep lists objects older than sw.Grace whose recording has no catalog
// row (an upload whose row was never written, a failed delete after its
// tombstone), deleting them with an audit entry each when sw.Remove is
// set and they are few enough (sw.MaxShare). A catalog error other than
// catalog.ErrNotFound stops the sweep before anything is deleted, and is
// returned.
func (p *Purger) Sweep(ctx context.Context, sw Sweep) ([]Orphan, error) {
	grace, remove, share := sw.Grace, sw.Remove, sw.MaxShare
	if share <= 0 {
		share = DefaultOrphanShare
	}
	cutoff := p.o.Now().Add(-grace)
	var out []Orphan
	seen := 0
	err := p.o.Store.List(ctx, "", func(o storage.Object) error {
		if strings.HasPrefix(o.Key, recording.AuditPrefix) || o.Modified.After(cutoff) {
			return nil
		}
		seen++
		id := recording.IDOfKey(o.Key)
		_, err := p.o.Catalog.Get(ctx, id)
		if err == nil {
			return nil
		}
		// Only a catalog that answers "no such row" makes an orphan; any
		// other error (a restart, a dropped connection) says nothing of the
		// recording, and deleting on it would destroy stored audio.
		if !errors.Is(err, catalog.ErrNotFound) {
			return fmt.Errorf("orphans: %s: %w", o.Key, err)
		}
		out = append(out, Orphan{Key: o.Key, Modified: o.Modified})
		return nil
	})
	if err != nil || !remove {
		return out, err
	}
	if len(out) > orphanFloor && float64(len(out)) > share*float64(seen) {
		return out, fmt.Errorf("%w: %d of %d objects have no catalog row (more than retention.orphan_max_percent %g)", ErrTooManyOrphans, len(out), seen, share*100)
	}
	for _, o := range out {
		res := p.o.Store.Delete(ctx, []string{o.Key})
		if res[0].Err != nil {
			return out, fmt.Errorf("delete orphan %s: %w", o.Key, res[0].Err)
		}
		d, _ := json.Marshal(o)
		if _, err := audit.Append(ctx, p.o.Catalog.DB(), audit.Entry{Actor: Actor, Action: audit.ActionDeleteOrphan, Target: o.Key,
			Reason: "object without a catalog row, older than the grace period", Detail: string(d)}); err != nil {
			return out, err
		}
	}
	return out, nil
}
