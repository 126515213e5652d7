package retention

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/storage"
)

// HoldRequest selects recordings to hold or release: by id, or every
// recording of a caller number, or of a time range (any combination
// narrows). There is no cap on how many one request covers.
type HoldRequest struct {
	IDs      []string
	Caller   string
	From, To time.Time
	On       bool   // true: hold; false: release
	Reason   string // required
	Actor    string // required
	Client   string // where the request came from (an API client's address), for the audit entry
	// Allow, when set, limits the request to the recordings it returns
	// true for (those the requester may hold): the others are left
	// alone, and an id it refuses is not found (catalog.ErrNotFound),
	// which changes nothing.
	Allow func(*catalog.Recording) bool
}

// ErrHoldRequest is wrapped by the errors of a malformed request.
var ErrHoldRequest = errors.New("bad hold request")

// SetHold holds or releases the selected recordings, with an audit entry
// each, and mirrors the hold as an S3 Object Lock legal hold where the
// store supports it, so that the storage itself refuses deletion. It
// returns how many recordings changed.
func SetHold(ctx context.Context, cat *catalog.Catalog, st storage.Store, req HoldRequest) (int, error) {
	if req.Reason == "" || req.Actor == "" {
		return 0, fmt.Errorf("%w: reason and actor are required", ErrHoldRequest)
	}
	if len(req.IDs) == 0 && req.Caller == "" && req.From.IsZero() && req.To.IsZero() {
		return 0, fmt.Errorf("%w: give ids, a caller number or a time range", ErrHoldRequest)
	}
	action := audit.ActionHold
	if !req.On {
		action = audit.ActionReleaseHold
	}
	n := 0
	apply := func(batch []*catalog.Recording) error {
		var change []*catalog.Recording
		for _, r := range batch {
			if req.Allow != nil && !req.Allow(r) {
				continue
			}
			if r.LegalHold != req.On {
				change = append(change, r)
			}
		}
		if len(change) == 0 {
			return nil
		}
		// Hold: catalog first, so that a purge skips it at once. Release:
		// storage first, so that no purge meets a held object.
		if !req.On {
			if err := lockObjects(ctx, st, change, false); err != nil {
				return err
			}
		}
		err := cat.Tx(ctx, func(tx *sql.Tx) error {
			for _, r := range change {
				if err := catalog.SetHold(ctx, tx, req.On, req.Reason, r.ID); err != nil {
					return err
				}
				d, _ := json.Marshal(map[string]any{"caller_selected": req.Caller != "", "from": req.From, "to": req.To, "client": req.Client})
				if _, err := audit.Append(ctx, tx, audit.Entry{Actor: req.Actor, Action: action, Target: r.ID, Reason: req.Reason, Detail: string(d)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if req.On {
			if err := lockObjects(ctx, st, change, true); err != nil {
				return err
			}
		}
		n += len(change)
		return nil
	}
	if len(req.IDs) > 0 {
		var batch []*catalog.Recording
		for _, id := range req.IDs {
			r, err := cat.Get(ctx, id)
			if err == nil && req.Allow != nil && !req.Allow(r) {
				err = fmt.Errorf("recording %s: %w", id, catalog.ErrNotFound)
			}
			if err != nil {
				return n, err
			}
			if matches(r, req) {
				batch = append(batch, r)
			}
		}
		return n, apply(batch)
	}
	err := cat.Select(ctx, catalog.Filter{Caller: req.Caller, From: req.From, To: req.To}, apply)
	return n, err
}

func matches(r *catalog.Recording, req HoldRequest) bool {
	return (req.Caller == "" || r.Caller == req.Caller) &&
		(req.From.IsZero() || !r.StartedAt.Before(req.From)) && (req.To.IsZero() || r.StartedAt.Before(req.To))
}

func lockObjects(ctx context.Context, st storage.Store, recs []*catalog.Recording, on bool) error {
	for _, r := range recs {
		for _, k := range []string{r.ObjectKey, r.ManifestKey} {
			if k == "" {
				continue
			}
			if err := st.SetLegalHold(ctx, k, on); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("legal hold on %s: %w", k, err)
			}
		}
	}
	return nil
}
