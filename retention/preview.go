package retention

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// PreviewLimit is how many of the recordings a changed limit would make
// due at once a Preview lists by id (all are counted).
const PreviewLimit = 100

// Change is a retention limit to preview for one purpose: the limit it
// would have, and whether existing recordings would be extended to a
// longer one (the purpose's extend_existing).
type Change struct {
	Purpose        string
	Retention      config.Retention
	ExtendExisting bool
}

// Preview is what applying a Change would do to the stored recordings
// of its purpose, decided record by record as ApplyPolicy decides. It is
// computed at one instant, Now; Due are the recordings that would pass
// their date at once (a purge after the change deletes them), of which
// DueHeld a legal hold keeps.
type Preview struct {
	Purpose        string      `json:"purpose"`
	From           string      `json:"from"` // the limit in force
	To             string      `json:"to"`   // the limit previewed
	ExtendExisting bool        `json:"extend_existing"`
	Now            time.Time   `json:"now"`
	Stored         int         `json:"stored"`
	Earlier        int         `json:"earlier"` // dates brought earlier
	Later          int         `json:"later"`   // dates moved later (extend_existing only)
	Unchanged      int         `json:"unchanged"`
	Due            int         `json:"due"`      // past the new date at Now, not held: deleted by the next purge
	DueHeld        int         `json:"due_held"` // past the new date at Now, kept by a hold
	Recordings     []DueRecord `json:"recordings"`
	More           bool        `json:"more"` // Due + DueHeld exceed the recordings listed
}

// DueRecord is one recording a Preview says would pass its date at once.
type DueRecord struct {
	ID          string    `json:"id"`
	Client      string    `json:"client,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	RetainUntil time.Time `json:"retain_until"` // today's date
	NewUntil    time.Time `json:"new_until"`    // under the change
	LegalHold   bool      `json:"legal_hold"`
}

// ErrUnknownPurpose is returned by PreviewChange for a purpose cur does
// not define.
var ErrUnknownPurpose = fmt.Errorf("unknown purpose")

// PreviewChange reports what ch would do if cur's purpose ch.Purpose had
// its limit: it reads the catalog and changes nothing. Clients' limits
// keep applying (the stricter date wins), as they would after the change.
func PreviewChange(ctx context.Context, cat *catalog.Catalog, cur *config.Config, ch Change, now time.Time) (Preview, error) {
	p, ok := cur.Purpose(ch.Purpose)
	if !ok {
		return Preview{}, fmt.Errorf("%w %q", ErrUnknownPurpose, ch.Purpose)
	}
	next := *cur
	next.Purposes = slices.Clone(cur.Purposes)
	for i := range next.Purposes {
		if next.Purposes[i].Name == ch.Purpose {
			next.Purposes[i].Retention = ch.Retention
			next.Purposes[i].ExtendExisting = ch.ExtendExisting
			p = &next.Purposes[i]
		}
	}
	pv := Preview{Purpose: ch.Purpose, From: retentionOf(cur, ch.Purpose), To: ch.Retention.String(),
		ExtendExisting: ch.ExtendExisting, Now: now, Recordings: []DueRecord{}}
	err := cat.Select(ctx, catalog.Filter{Purpose: ch.Purpose}, func(batch []*catalog.Recording) error {
		for _, r := range batch {
			pv.Stored++
			want, changed := newDate(&next, *p, r)
			switch {
			case !changed:
				pv.Unchanged++
				continue
			case want.Before(r.RetainUntil):
				pv.Earlier++
			default:
				pv.Later++
			}
			if want.After(now) || !r.RetainUntil.After(now) {
				continue // not due, or due already without the change
			}
			if r.LegalHold {
				pv.DueHeld++
			} else {
				pv.Due++
			}
			if len(pv.Recordings) < PreviewLimit {
				pv.Recordings = append(pv.Recordings, DueRecord{ID: r.ID, Client: r.Client, StartedAt: r.StartedAt,
					RetainUntil: r.RetainUntil, NewUntil: want, LegalHold: r.LegalHold})
			} else {
				pv.More = true
			}
		}
		return nil
	})
	if err != nil {
		return Preview{}, fmt.Errorf("preview of %s: %w", ch.Purpose, err)
	}
	return pv, nil
}

// retentionOf is the limit cur gives purpose, as configured.
func retentionOf(cur *config.Config, purpose string) string {
	if p, ok := cur.Purpose(purpose); ok {
		return p.Retention.String()
	}
	return ""
}
