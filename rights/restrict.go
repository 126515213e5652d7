package rights

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
)

// Changed lists the recordings a request changed.
type Changed struct {
	Recordings []string `json:"recordings"`
	// NotYetStored says, for a stop or resume of use, what becomes of the
	// numbers' recordings not stored yet (in a spool, or of a call in
	// progress).
	NotYetStored string `json:"not_yet_stored,omitempty"`
	// EventsDropped counts the webhook events about the restricted
	// recordings that were not delivered yet and now never are.
	EventsDropped int64 `json:"events_dropped,omitempty"`
}

const (
	stopNotYetStored = "recordings of these numbers not yet stored at the stop (in a spool, or of a call then in progress) " +
		"are stored restricted, each audited as restrict with this request, and announce no webhook event"
	resumeNotYetStored = "recordings of these numbers not yet stored are stored usable"
)

// StopUse answers stop-of-use request id: the stored recordings of its
// numbers become restricted (hidden from all but privacy officers,
// excluded from provisions) and their undelivered webhook events are
// dropped; those not stored yet are stored restricted (the stop-of-use
// ledger). Retention still applies to them.
func (s *Service) StopUse(ctx context.Context, operator, id string) (*Changed, error) {
	return s.setState(ctx, operator, id, KindStopUse, catalog.StateStored, catalog.StateRestricted, audit.ActionRestrict)
}

// ResumeUse answers resume-use request id: the restricted recordings of
// its numbers are stored (usable) again, and the stops of use in force
// for its numbers are lifted.
func (s *Service) ResumeUse(ctx context.Context, operator, id string) (*Changed, error) {
	return s.setState(ctx, operator, id, KindResumeUse, catalog.StateRestricted, catalog.StateStored, audit.ActionUnrestrict)
}

func (s *Service) setState(ctx context.Context, operator, id, kind, from, to string, action audit.Action) (*Changed, error) {
	r, err := s.open(ctx, id, kind)
	if err != nil {
		return nil, s.refuseOn(ctx, operator, id, err)
	}
	// The ledger first, in a transaction of its own, as an erasure's: an
	// upload indexing a recording of these numbers either commits before
	// it (and the search below finds the row) or sees it.
	stop := to == catalog.StateRestricted
	at := time.Now().UTC() // the wall clock's, as the calls' start times are
	if err := s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		for _, n := range r.Callers {
			mac := catalog.NumberMAC(s.o.Keys.AuditKey(), n)
			var err error
			if stop {
				err = catalog.AddStopUse(ctx, tx, mac, at, id)
			} else {
				_, err = catalog.ResumeStopUses(ctx, tx, mac, at)
			}
			if err != nil {
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
	out := &Changed{Recordings: []string{}, NotYetStored: resumeNotYetStored}
	if stop {
		out.NotYetStored = stopNotYetStored
	}
	_, err = s.answer(ctx, operator, id, kind, OutcomeAnswered, "", out, func(tx *sql.Tx, _ *catalog.Request) error {
		for _, rec := range recs {
			if rec.State != from {
				continue
			}
			if err := catalog.SetState(ctx, tx, to, rec.ID); err != nil {
				return err
			}
			if stop {
				// What was to be told about it (stored, transcoded…) is
				// a use of it: not told now.
				n, err := catalog.DropOutbox(ctx, tx, rec.ID)
				if err != nil {
					return err
				}
				out.EventsDropped += n
			}
			if err := s.audit(ctx, tx, operator, action, rec.ID, map[string]any{"request": id, "from": from, "to": to}); err != nil {
				return err
			}
			out.Recordings = append(out.Recordings, rec.ID)
		}
		return nil
	})
	return out, err
}

// Correction fixes a fact about the caller on some recordings.
type Correction struct {
	Recordings []string `json:"recordings"` // all of the request's recordings when empty
	Field      string   `json:"field"`      // customer_ref
	Value      string   `json:"value"`
}

// Correctable lists the fields a correction may change: facts about the
// caller, never the audio nor the call's own record.
var Correctable = []string{"customer_ref"}

// Correct answers correction request id: it sets c.Field on the request's
// recordings (or those of c.Recordings among them), with the value before
// and after in each audit entry. Audio is never edited.
func (s *Service) Correct(ctx context.Context, operator, id string, c Correction) (*Changed, error) {
	if c.Field != "customer_ref" {
		return nil, fmt.Errorf("%w: field %q cannot be corrected (correctable: %s)", ErrBadRequest, c.Field, strings.Join(Correctable, ", "))
	}
	r, err := s.open(ctx, id, KindCorrection)
	if err != nil {
		return nil, s.refuseOn(ctx, operator, id, err)
	}
	recs, err := s.recordings(ctx, r.Callers)
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, rec := range recs {
		mine[rec.ID] = true
	}
	targets := c.Recordings
	if len(targets) == 0 {
		for _, rec := range recs {
			targets = append(targets, rec.ID)
		}
	}
	for _, t := range targets {
		if !mine[t] {
			return nil, fmt.Errorf("%w: recording %s is not one of this request's numbers", ErrBadRequest, t)
		}
	}
	out := &Changed{Recordings: []string{}}
	_, err = s.answer(ctx, operator, id, KindCorrection, OutcomeAnswered, "", out, func(tx *sql.Tx, _ *catalog.Request) error {
		for _, t := range targets {
			before, err := catalog.CustomerRef(ctx, tx, t)
			if err != nil {
				return err
			}
			if err := catalog.SetCustomerRef(ctx, tx, t, c.Value); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, operator, audit.ActionCorrect, t, map[string]any{"request": id, "field": c.Field, "before": before, "after": c.Value}); err != nil {
				return err
			}
			out.Recordings = append(out.Recordings, t)
		}
		return nil
	})
	return out, err
}

// StopProvision answers stop-third-party-provision request id: from now
// on Provide refuses the recordings of its numbers.
func (s *Service) StopProvision(ctx context.Context, operator, id string) error {
	if _, err := s.open(ctx, id, KindStopProvision); err != nil {
		return s.refuseOn(ctx, operator, id, err)
	}
	_, err := s.answer(ctx, operator, id, KindStopProvision, OutcomeAnswered, "", map[string]any{"effect": "provision of these numbers' recordings is refused"}, nil)
	return err
}
