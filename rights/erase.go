package rights

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/recording"
)

// Erasure is what an erasure erased and what it kept.
type Erasure struct {
	Erased []string `json:"erased"`         // recordings: keys destroyed, rows now tombstones
	Held   []string `json:"held,omitempty"` // under legal hold: not erased
	// Gone lists recordings of the numbers deleted by another path (a
	// purge, another erasure) between this erasure's search and its
	// transaction: that path audited them.
	Gone []string `json:"gone,omitempty"`
	// Undeleted lists objects the store did not delete; their data keys
	// are destroyed all the same, so they cannot be read.
	Undeleted []string `json:"undeleted,omitempty"`
	// NotYetStored says what becomes of the numbers' recordings that were
	// not stored yet at the erasure: in a node's spool (the store down,
	// or an upload not done) or of a call then in progress.
	NotYetStored string `json:"not_yet_stored"`
}

// notYetStored is Erasure.NotYetStored: the uploaders destroy them.
const notYetStored = "recordings of these numbers not yet stored at the erasure (in a spool, or of a call then in progress) " +
	"are destroyed by the uploader instead of being stored, each audited as erase with this request"

// Erase answers erasure request id: for each recording of its numbers
// not under legal hold it destroys the wrapped data key and the caller
// number by replacing the row with a tombstone (crypto-shredding every
// copy of the audio, backups included), audits it, then deletes the audio
// and manifest objects. Holds are checked on the rows as read in that
// transaction, so a hold set after the search still keeps its recording.
// The request's numbers, and those of every other request naming them,
// are then masked, and the catalog is compacted (see catalog.Compact for
// what that removes on each driver). Held recordings stay and are
// reported.
//
// confirm is the Confirm of the request's ErasurePlan: an erasure runs
// only once a person has seen what it destroys and what it keeps. A
// confirm that is empty, or no longer matches what the plan would say
// now (recordings stored, held or released since), changes nothing and
// returns a *PlanError with the plan as it is now.
func (s *Service) Erase(ctx context.Context, operator, id, confirm string) (*Erasure, error) {
	r, err := s.open(ctx, id, KindErasure)
	if err != nil {
		return nil, s.refuseOn(ctx, operator, id, err)
	}
	plan, err := s.planFor(ctx, r)
	if err != nil {
		return nil, err
	}
	if confirm == "" || confirm != plan.Confirm {
		return nil, &PlanError{Plan: plan, Missing: confirm == ""}
	}
	// The ledger first, in a transaction of its own: an upload indexing a
	// recording of these numbers either commits before it (and the search
	// below finds the row) or sees it (and destroys the recording
	// instead); a recording still in a spool, or a call in progress now,
	// meets it when it reaches the uploader.
	// Its time is the wall clock's, as the calls' start times it is
	// compared with are.
	at := time.Now().UTC()
	if err := s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		for _, n := range r.Callers {
			if err := catalog.AddErasure(ctx, tx, catalog.NumberMAC(s.o.Keys.AuditKey(), n), at, id); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	recs, err := s.recordings(ctx, r.Callers)
	if err != nil {
		return nil, err
	}
	now := s.o.Now().UTC()
	out := &Erasure{NotYetStored: notYetStored}
	done, err := s.destroyer.Destroy(ctx, recs, recording.Destruction{
		At: now, Reason: "erasure request " + id, Actor: operator,
		Entry: func(got *catalog.Recording) audit.Entry {
			return audit.Entry{At: now, Actor: operator, Action: audit.ActionErase, Target: got.ID,
				Detail: fmt.Sprintf(`{"request":%q,"object_key":%q}`, id, got.ObjectKey)}
		},
	})
	if err != nil {
		return nil, err
	}
	for _, rec := range done.Held {
		out.Held = append(out.Held, rec.ID)
	}
	out.Gone = done.Gone
	for _, rec := range done.Destroyed {
		out.Erased = append(out.Erased, rec.ID)
	}
	for _, u := range done.Undeleted {
		out.Undeleted = append(out.Undeleted, u.Key)
	}
	_, err = s.answer(ctx, operator, id, KindErasure, OutcomeAnswered, "", out, func(tx *sql.Tx, _ *catalog.Request) error {
		return maskCallers(ctx, tx, r.Callers)
	})
	if err != nil {
		return out, err
	}
	if err := s.o.Catalog.Compact(ctx); err != nil {
		return out, err
	}
	return out, nil
}

// ErasurePlan is what an erasure would do now, shown for confirmation:
// the recordings it would destroy, those a legal hold keeps, and what
// becomes of those not yet stored. Confirm is a digest of the request
// and of both lists; Erase takes it back.
type ErasurePlan struct {
	Request      string           `json:"request"`
	Destroy      []PlannedErasure `json:"destroy"`
	Held         []PlannedErasure `json:"held"`
	NotYetStored string           `json:"not_yet_stored"`
	Confirm      string           `json:"confirm"`
}

// PlannedErasure is one recording in an ErasurePlan.
type PlannedErasure struct {
	ID         string    `json:"id"`
	StartedAt  time.Time `json:"started_at"`
	Line       string    `json:"line"`
	Purpose    string    `json:"purpose"`
	Client     string    `json:"client,omitempty"`
	Audio      bool      `json:"audio"` // an audio object besides the manifest
	HoldReason string    `json:"hold_reason,omitempty"`
}

// ErrPlan is wrapped by a *PlanError.
var ErrPlan = errors.New("erasure not confirmed")

// PlanError is Erase's answer to a missing or stale confirmation: the
// plan as it is now, to be confirmed.
type PlanError struct {
	Plan    *ErasurePlan
	Missing bool
}

func (e *PlanError) Error() string {
	if e.Missing {
		return "erasure not confirmed: confirm it with the confirm of its plan (it lists what is destroyed and what is held)"
	}
	return "erasure not confirmed: what it would destroy or keep changed since the plan was read; confirm the plan as it is now"
}

func (e *PlanError) Unwrap() error { return ErrPlan }

// PlanErasure returns what erasure request id would do now. It changes
// nothing: an unverified or answered request is an error, not refused.
func (s *Service) PlanErasure(ctx context.Context, id string) (*ErasurePlan, error) {
	r, err := s.open(ctx, id, KindErasure)
	if err != nil {
		return nil, err
	}
	return s.planFor(ctx, r)
}

func (s *Service) planFor(ctx context.Context, r *catalog.Request) (*ErasurePlan, error) {
	recs, err := s.recordings(ctx, r.Callers)
	if err != nil {
		return nil, err
	}
	p := &ErasurePlan{Request: r.ID, Destroy: []PlannedErasure{}, Held: []PlannedErasure{}, NotYetStored: notYetStored}
	h := sha256.New()
	fmt.Fprintf(h, "kiroku erasure plan v1\n%s\n", r.ID)
	for _, rec := range recs {
		it := PlannedErasure{ID: rec.ID, StartedAt: rec.StartedAt, Line: rec.Line, Purpose: rec.Purpose, Client: rec.Client, Audio: rec.ObjectKey != ""}
		if rec.LegalHold {
			it.HoldReason = rec.HoldReason
			p.Held = append(p.Held, it)
			fmt.Fprintf(h, "held %s\n", rec.ID)
		} else {
			p.Destroy = append(p.Destroy, it)
			fmt.Fprintf(h, "destroy %s\n", rec.ID)
		}
	}
	p.Confirm = hex.EncodeToString(h.Sum(nil)[:8])
	return p, nil
}

// maskCallers replaces the numbers by their masked form in every request
// naming them.
func maskCallers(ctx context.Context, tx *sql.Tx, numbers []string) error {
	all, err := catalog.ListRequests(ctx, tx)
	if err != nil {
		return err
	}
	for _, q := range all {
		changed := false
		for i, c := range q.Callers {
			if slices.Contains(numbers, c) {
				q.Callers[i], changed = config.MaskNumber(c), true
			}
		}
		if changed {
			if err := catalog.PutRequest(ctx, tx, q); err != nil {
				return err
			}
		}
	}
	return nil
}
