package rights

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// Request kinds.
const (
	KindDisclosure    = "disclosure"
	KindCorrection    = "correction"
	KindStopUse       = "stop-of-use"
	KindResumeUse     = "resume-use"
	KindErasure       = "erasure"
	KindStopProvision = "stop-third-party-provision"
)

// Kinds lists every request kind.
var Kinds = []string{KindDisclosure, KindCorrection, KindStopUse, KindResumeUse, KindErasure, KindStopProvision}

// Outcomes.
const (
	OutcomeAnswered = "answered"
	OutcomeRefused  = "refused"
)

// requestAction is the audit action of answering a request each way.
var requestAction = map[string]audit.Action{
	OutcomeAnswered: audit.ActionRequestAnswered,
	OutcomeRefused:  audit.ActionRequestRefused,
}

// Errors for decisions (test with errors.Is).
var (
	ErrBadRequest = errors.New("bad request")
	ErrAnswered   = errors.New("request already answered")
	ErrWrongKind  = errors.New("request is of another kind")
	ErrRefused    = errors.New("request refused")
)

// Options are what a Service works on.
type Options struct {
	Catalog *catalog.Catalog
	Store   storage.Store
	Keys    *crypt.Keyring
	// Purpose returns a purpose's description ("" when unknown).
	Purpose func(name string) string
	// Client describes the client a line is run for; ok is false for one
	// not configured. Nil means no client is configured.
	Client func(id string) (c Client, ok bool)
	Now    func() time.Time
}

// Client is what requests need to know of a client (the company an
// outsourced line is run for).
type Client struct {
	ID, Name string
	Contact  string // how a requester reaches the client
	// Answer discloses its recordings as any other line's; without it a
	// disclosure refuses them with the policy's reason.
	Answer bool
}

// Service answers data-subject requests.
type Service struct {
	o         Options
	destroyer *recording.Destroyer
}

// New returns a service on o; Catalog, Store and Keys are required.
func New(o Options) (*Service, error) {
	if o.Catalog == nil || o.Store == nil || o.Keys == nil {
		return nil, errors.New("rights: catalog, store and keys are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Purpose == nil {
		o.Purpose = func(string) string { return "" }
	}
	if o.Client == nil {
		o.Client = func(string) (Client, bool) { return Client{}, false }
	}
	return &Service{o: o, destroyer: recording.NewDestroyer(o.Catalog, o.Store)}, nil
}

// NewRequest is what a privacy officer enters when a request arrives.
type NewRequest struct {
	Kind         string    `json:"kind"`
	Callers      []string  `json:"callers"`
	Verification string    `json:"verification"`
	Requester    string    `json:"requester"`
	ReceivedAt   time.Time `json:"received_at"` // zero: now
}

// Create records a new request by operator and audits it.
func (s *Service) Create(ctx context.Context, operator string, n NewRequest) (*catalog.Request, error) {
	if !slices.Contains(Kinds, n.Kind) {
		return nil, fmt.Errorf("%w: kind %q is not one of %s", ErrBadRequest, n.Kind, strings.Join(Kinds, ", "))
	}
	var callers []string
	for _, c := range n.Callers {
		c = config.NormalizeNumber(c)
		if c != "" && !slices.Contains(callers, c) {
			callers = append(callers, c)
		}
	}
	if len(callers) == 0 {
		return nil, fmt.Errorf("%w: callers: give at least one caller number", ErrBadRequest)
	}
	if strings.TrimSpace(n.Requester) == "" {
		return nil, fmt.Errorf("%w: requester: say who asks (the person or their agent)", ErrBadRequest)
	}
	// A request is taken once the person's identity is verified: one
	// accepted unverified could only be refused later, for good.
	if strings.TrimSpace(n.Verification) == "" {
		return nil, fmt.Errorf("%w: verification: say how the person's identity was verified (the document checked and its reference, never the document itself)", ErrBadRequest)
	}
	if n.ReceivedAt.IsZero() {
		n.ReceivedAt = s.o.Now()
	}
	r := &catalog.Request{ID: uuid.Must(uuid.NewV7()).String(), Kind: n.Kind, Callers: callers,
		Verification: strings.TrimSpace(n.Verification), Requester: strings.TrimSpace(n.Requester),
		ReceivedAt: n.ReceivedAt.UTC(), Operator: operator}
	err := s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		if err := catalog.PutRequest(ctx, tx, r); err != nil {
			return err
		}
		return s.audit(ctx, tx, operator, audit.ActionRequestCreate, r.ID, map[string]any{"kind": r.Kind, "numbers": len(callers), "verified": r.Verification != ""})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Get returns request id.
func (s *Service) Get(ctx context.Context, id string) (*catalog.Request, error) {
	return catalog.GetRequest(ctx, s.o.Catalog.DB(), id)
}

// List returns every request.
func (s *Service) List(ctx context.Context) ([]*catalog.Request, error) {
	return catalog.ListRequests(ctx, s.o.Catalog.DB())
}

// Refuse closes request id as refused with reason, recorded on it and
// in its audit entry.
func (s *Service) Refuse(ctx context.Context, operator, id, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%w: reason: say why the request is refused", ErrBadRequest)
	}
	_, err := s.answer(ctx, operator, id, "", OutcomeRefused, reason, map[string]any{"reason": reason}, nil)
	return err
}

// open returns request id if it is open and of kind (any kind when "").
func (s *Service) open(ctx context.Context, id, kind string) (*catalog.Request, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Outcome != "" {
		return r, fmt.Errorf("rights: %s: %w (%s)", id, ErrAnswered, r.Outcome)
	}
	if kind != "" && r.Kind != kind {
		return r, fmt.Errorf("rights: %s: %w: it is %s, not %s", id, ErrWrongKind, r.Kind, kind)
	}
	if r.Verification == "" {
		return r, fmt.Errorf("rights: %s: %w: identity not verified", id, ErrRefused)
	}
	return r, nil
}

// answer closes request id with outcome and result, running also (if not
// nil) in the same transaction, and audits it, with why as the entry's
// reason (an operator's refusal says why in the audit log too).
func (s *Service) answer(ctx context.Context, operator, id, kind, outcome, why string, result any, also func(*sql.Tx, *catalog.Request) error) (*catalog.Request, error) {
	var r *catalog.Request
	err := s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if r, err = catalog.GetRequest(ctx, tx, id); err != nil {
			return err
		}
		if r.Outcome != "" {
			return fmt.Errorf("rights: %s: %w (%s)", id, ErrAnswered, r.Outcome)
		}
		if kind != "" && r.Kind != kind {
			return fmt.Errorf("rights: %s: %w", id, ErrWrongKind)
		}
		if also != nil {
			if err := also(tx, r); err != nil {
				return err
			}
			// also may have changed the row (erasure masks its numbers).
			if r, err = catalog.GetRequest(ctx, tx, id); err != nil {
				return err
			}
		}
		b, err := json.Marshal(result)
		if err != nil {
			return err
		}
		now := s.o.Now().UTC()
		r.AnsweredAt, r.Outcome, r.Result, r.Operator = &now, outcome, b, operator
		if err := catalog.PutRequest(ctx, tx, r); err != nil {
			return err
		}
		d, err := json.Marshal(map[string]any{"kind": r.Kind})
		if err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: operator, Action: requestAction[outcome], Target: id, Reason: why, Detail: string(d)})
		return err
	})
	return r, err
}

// refuseOn records err as the refusal of request id when it is a refusal
// (not verified), and returns err.
func (s *Service) refuseOn(ctx context.Context, operator, id string, err error) error {
	if errors.Is(err, ErrRefused) {
		if _, e := s.answer(ctx, operator, id, "", OutcomeRefused, err.Error(), map[string]any{"reason": err.Error()}, nil); e != nil {
			return errors.Join(err, e)
		}
	}
	return err
}

// audit appends one entry; detail never holds a caller number.
func (s *Service) audit(ctx context.Context, q audit.Querier, actor string, action audit.Action, target string, detail map[string]any) error {
	d, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = audit.Append(ctx, q, audit.Entry{Actor: actor, Action: action, Target: target, Detail: string(d)})
	return err
}

// recordings returns the recordings of the numbers, oldest first.
func (s *Service) recordings(ctx context.Context, callers []string) ([]*catalog.Recording, error) {
	var out []*catalog.Recording
	for _, c := range callers {
		err := s.o.Catalog.Select(ctx, catalog.Filter{Caller: c}, func(b []*catalog.Recording) error {
			out = append(out, b...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b *catalog.Recording) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// auditTx appends one entry in its own transaction, so that the chain
// head is read and extended atomically.
func (s *Service) auditTx(ctx context.Context, actor string, action audit.Action, target string, detail map[string]any) error {
	return s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error { return s.audit(ctx, tx, actor, action, target, detail) })
}
