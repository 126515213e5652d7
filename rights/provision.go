package rights

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/csvsafe"
	"github.com/kiroku-voice/kiroku/internal/sumzip"
	"github.com/kiroku-voice/kiroku/recording"
)

// ErrNotProvidable is wrapped when a recording may not go to a third
// party: unknown, restricted, being purged, recorded for a client, or its
// caller asked to stop provision.
var ErrNotProvidable = errors.New("recording may not be provided")

// ErrNotAllowed is returned when the operator may not read a recording
// asked for: a provision hands on only what its operator may listen to.
var ErrNotAllowed = errors.New("recording not open to the operator")

// ProvisionRequest is one export of recordings to a third party.
type ProvisionRequest struct {
	Recipient  string   `json:"recipient"`
	LegalBasis string   `json:"legal_basis"`
	ConsentRef string   `json:"consent_ref"`
	IDs        []string `json:"ids"`
}

// Provide records the provision (recipient, date, items, legal basis,
// consent reference) and streams the recordings to w as a ZIP with
// manifest.json and SHA256SUMS. Everything is checked, recorded and
// audited before the first byte is written.
//
// allow applies the reading rule of the operator to each recording (the
// access package's, through the API); one it refuses fails the whole
// provision with ErrNotAllowed before anything is recorded.
func (s *Service) Provide(ctx context.Context, operator string, p ProvisionRequest, w io.Writer, allow func(*catalog.Recording) (bool, string)) (*catalog.Provision, error) {
	switch {
	case strings.TrimSpace(p.Recipient) == "":
		return nil, fmt.Errorf("%w: recipient: required", ErrBadRequest)
	case strings.TrimSpace(p.LegalBasis) == "":
		return nil, fmt.Errorf("%w: legal_basis: required", ErrBadRequest)
	case len(p.IDs) == 0:
		return nil, fmt.Errorf("%w: ids: give the recordings to provide", ErrBadRequest)
	}
	stopped, err := s.stoppedNumbers(ctx)
	if err != nil {
		return nil, err
	}
	var recs []*catalog.Recording
	for _, id := range p.IDs {
		rec, err := s.o.Catalog.Get(ctx, id)
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			return nil, fmt.Errorf("%w: %s: no such recording", ErrNotProvidable, id)
		case err != nil:
			return nil, err
		case rec.State != catalog.StateStored:
			return nil, fmt.Errorf("%w: %s is %s", ErrNotProvidable, id, rec.State)
		case rec.Client != "":
			// The client's customers' data is used only within the
			// contract's scope: handing it on is the client's decision.
			return nil, fmt.Errorf("%w: %s was recorded for client %s: providing it to a third party is the client's decision, outside the contract's scope", ErrNotProvidable, id, rec.Client)
		case slices.Contains(stopped, rec.Caller):
			return nil, fmt.Errorf("%w: %s: its caller asked to stop third-party provision", ErrNotProvidable, id)
		}
		if ok, why := allow(rec); !ok {
			return nil, fmt.Errorf("%w: %s: %s", ErrNotAllowed, id, why)
		}
		recs = append(recs, rec)
	}
	pr := &catalog.Provision{ID: uuid.Must(uuid.NewV7()).String(), Recipient: p.Recipient, ProvidedAt: s.o.Now().UTC(),
		Items: p.IDs, LegalBasis: p.LegalBasis, ConsentRef: p.ConsentRef, Operator: operator}
	err = s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		if err := catalog.PutProvision(ctx, tx, pr); err != nil {
			return err
		}
		for _, rec := range recs {
			if err := s.audit(ctx, tx, operator, audit.ActionProvide, rec.ID, map[string]any{"provision": pr.ID, "recipient": pr.Recipient}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	z := sumzip.New(w)
	m := &Manifest{Request: pr.ID, Generated: pr.ProvidedAt}
	for _, rec := range recs {
		it, err := s.item(ctx, rec, false)
		if err != nil {
			return nil, err
		}
		if rec.ObjectKey != "" {
			it.File = "recordings/" + recording.AudioFile(rec)
			if err := s.writeAudio(ctx, z, it.File, rec); err != nil {
				return nil, err
			}
		}
		m.Items = append(m.Items, it)
	}
	if err := z.JSON("manifest.json", m); err != nil {
		return nil, err
	}
	return pr, z.Close()
}

// stoppedNumbers are the numbers of answered stop-third-party-provision
// requests.
func (s *Service) stoppedNumbers(ctx context.Context) ([]string, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range all {
		if r.Kind == KindStopProvision && r.Outcome == OutcomeAnswered {
			out = append(out, r.Callers...)
		}
	}
	return out, nil
}

// Provisions returns every provision record.
func (s *Service) Provisions(ctx context.Context) ([]*catalog.Provision, error) {
	return catalog.ListProvisions(ctx, s.o.Catalog.DB())
}

// ExportProvisions writes the provision records to w as "csv" or "json".
func (s *Service) ExportProvisions(ctx context.Context, w io.Writer, format string) error {
	ps, err := s.Provisions(ctx)
	if err != nil {
		return err
	}
	switch format {
	case "json":
		type row struct {
			ID         string   `json:"id"`
			Recipient  string   `json:"recipient"`
			ProvidedAt string   `json:"provided_at"`
			Items      []string `json:"items"`
			LegalBasis string   `json:"legal_basis"`
			ConsentRef string   `json:"consent_ref"`
			Operator   string   `json:"operator"`
		}
		rows := []row{}
		for _, p := range ps {
			rows = append(rows, row{p.ID, p.Recipient, p.ProvidedAt.Format("2006-01-02T15:04:05Z07:00"), p.Items, p.LegalBasis, p.ConsentRef, p.Operator})
		}
		return json.NewEncoder(w).Encode(rows)
	case "csv":
		// Recipient, legal basis and operator are free text: written
		// defused, as every CSV (csvsafe).
		cw := csvsafe.NewWriter(w)
		cw.Write([]string{"id", "recipient", "provided_at", "items", "legal_basis", "consent_ref", "operator"})
		for _, p := range ps {
			cw.Write([]string{p.ID, p.Recipient, p.ProvidedAt.Format("2006-01-02T15:04:05Z07:00"), strings.Join(p.Items, " "), p.LegalBasis, p.ConsentRef, p.Operator})
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("%w: format %q is not csv or json", ErrBadRequest, format)
}
