package contract

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
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// Errors for decisions (test with errors.Is).
var (
	// ErrBadTarget is wrapped when the target given is not usable.
	ErrBadTarget = errors.New("bad return target")
	// ErrBlocked is wrapped when a run cannot start or go on now: lines
	// still record for the client, calls of it wait in the spool, its
	// unfinished run has another target, the client's contract end is
	// running already (on this node or another), or recordings of the
	// client were stored after the run listed its items.
	ErrBlocked = errors.New("contract end blocked")
	// ErrNotAwaiting is wrapped when a confirmation comes for a run that
	// is not waiting for one.
	ErrNotAwaiting = errors.New("run is not waiting for a confirmation")
)

// Target kinds.
const (
	KindZIP = "zip" // streamed to the caller, confirmed by the recipient's checksums
	KindS3  = "s3"  // copied into another bucket and read back
)

// Run states.
const (
	StateRunning  = "running"               // exporting, verifying or destroying
	StateAwaiting = "awaiting-confirmation" // a ZIP was streamed; its recipient's checksums are awaited
	StateDone     = "done"                  // certified
)

// Target is where a client's recordings are returned.
type Target struct {
	Kind   string `json:"kind"`             // zip or s3
	Bucket string `json:"bucket,omitempty"` // s3: another bucket than the store's
	// Prefix is the key prefix (s3), without a leading or trailing '/';
	// when none is given, the run's own folder <client>/<run id>.
	Prefix string `json:"prefix,omitempty"`
}

// Client is the client whose contract ends, as configured.
type Client struct {
	ID, Name string
	// Lines are the configured lines still run for it; a run refuses to
	// start while there are any (recordings made after it would escape
	// the certificate).
	Lines []string
}

// Options are what a Service works on.
type Options struct {
	Catalog *catalog.Catalog
	Store   storage.Store
	Keys    *crypt.Keyring
	// Bucket is the store's own bucket ("" for a store that is not S3);
	// a return copy may not go there.
	Bucket string
	// Target opens another bucket of the same S3 service for a return
	// copy; nil when the store is not S3 (only ZIP returns then).
	Target func(ctx context.Context, bucket string) (storage.Store, error)
	// Spooled counts the client's calls still waiting in the spool; nil
	// counts none.
	Spooled func(client string) (int, error)
	// KeyFiles are the files of a client's own master keys (its
	// encryption.keys), by key id; nil or none: the client has none, and
	// its recordings are crypto-shredded one by one only.
	KeyFiles func(client string) map[string]string
	Log      *zap.Logger
	Now      func() time.Time
}

// Service runs contract ends. A run holds the catalog lock of its client
// (lockName) from start to end, so one runs per client at a time across
// every node sharing the catalog.
type Service struct {
	o         Options
	destroyer *recording.Destroyer
}

// lockName is the catalog lock a run of client holds.
func lockName(client string) string { return "contract-end/" + client }

// New returns a service on o; Catalog, Store and Keys are required.
func New(o Options) (*Service, error) {
	if o.Catalog == nil || o.Store == nil || o.Keys == nil {
		return nil, errors.New("contract: catalog, store and keys are required")
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{o: o, destroyer: recording.NewDestroyer(o.Catalog, o.Store)}, nil
}

// Plan is what a run would do now: the same figures its certificate
// gives once it is done (unless recordings change meanwhile).
type Plan struct {
	Client     string     `json:"client"`
	ClientName string     `json:"client_name"`
	Recordings int        `json:"recordings"` // to return: every stored or restricted recording
	WithAudio  int        `json:"with_audio"`
	Restricted int        `json:"restricted"`
	Held       int        `json:"held"`       // returned but kept: under legal hold
	ToDestroy  int        `json:"to_destroy"` // returned then destroyed
	Bytes      int64      `json:"sealed_bytes"`
	First      *time.Time `json:"first,omitempty"` // earliest start
	Last       *time.Time `json:"last,omitempty"`  // latest start
	// Blockers say why a run cannot start now.
	Blockers []string `json:"blockers,omitempty"`
	// ZIPRefused says, for each purpose of the client's recordings the
	// planning token may not read, why a ZIP return by it is refused (an
	// S3 return is not). The API fills it: it knows the token.
	ZIPRefused []string `json:"zip_refused,omitempty"`
	// Run is the unfinished run a run would resume.
	Run *RunInfo `json:"unfinished_run,omitempty"`
}

// RunInfo describes a run.
type RunInfo struct {
	ID         string          `json:"id"`
	Client     string          `json:"client"`
	Target     Target          `json:"target"`
	State      string          `json:"state"`
	Operators  []string        `json:"operators"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
	Items      map[string]int  `json:"items"` // per item state
	AuditFrom  int64           `json:"audit_first_seq,omitempty"`
	AuditTo    int64           `json:"audit_last_seq,omitempty"`
	Cert       json.RawMessage `json:"certificate,omitempty"`
}

// Plan reports what a run for c would return, keep and destroy, and what
// blocks it, changing nothing but the audit log (an entry by actor).
func (s *Service) Plan(ctx context.Context, actor string, c Client) (*Plan, error) {
	db := s.o.Catalog.DB()
	sum, err := catalog.SummariseClient(ctx, db, c.ID)
	if err != nil {
		return nil, err
	}
	p := &Plan{Client: c.ID, ClientName: c.Name, Recordings: sum.Recordings, WithAudio: sum.WithAudio,
		Restricted: sum.Restricted, Held: sum.Held, ToDestroy: sum.Recordings - sum.Held, Bytes: sum.Bytes,
		First: sum.First, Last: sum.Last}
	if p.Blockers, err = s.blockers(c); err != nil {
		return nil, err
	}
	switch run, err := catalog.OpenContractEnd(ctx, db, c.ID); {
	case errors.Is(err, catalog.ErrNoRun):
	case err != nil:
		return nil, err
	default:
		if p.Run, err = s.info(ctx, run); err != nil {
			return nil, err
		}
	}
	detail := map[string]any{"recordings": p.Recordings, "held": p.Held, "to_destroy": p.ToDestroy, "blockers": len(p.Blockers)}
	if err := s.auditTx(ctx, actor, audit.ActionContractEndPlan, "client:"+c.ID, detail); err != nil {
		return nil, err
	}
	return p, nil
}

// blockers says what keeps a run for c from starting now.
func (s *Service) blockers(c Client) ([]string, error) {
	var out []string
	if len(c.Lines) > 0 {
		out = append(out, fmt.Sprintf("lines %s are still run for client %s: remove them from the configuration (or give them to another client) and reload first", strings.Join(c.Lines, ", "), c.ID))
	}
	if s.o.Spooled != nil {
		n, err := s.o.Spooled(c.ID)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%d calls of client %s wait in the spool to be stored: run again once they are", n, c.ID))
		}
	}
	return out, nil
}

// Get describes run id.
func (s *Service) Get(ctx context.Context, id string) (*RunInfo, error) {
	run, err := catalog.GetContractEnd(ctx, s.o.Catalog.DB(), id)
	if err != nil {
		return nil, err
	}
	return s.info(ctx, run)
}

// List describes every run, oldest first, without their certificates.
func (s *Service) List(ctx context.Context) ([]*RunInfo, error) {
	runs, err := catalog.ListContractEnds(ctx, s.o.Catalog.DB())
	if err != nil {
		return nil, err
	}
	out := []*RunInfo{}
	for _, r := range runs {
		info, err := s.info(ctx, r)
		if err != nil {
			return nil, err
		}
		info.Cert = nil
		out = append(out, info)
	}
	return out, nil
}

func (s *Service) info(ctx context.Context, r *catalog.ContractEnd) (*RunInfo, error) {
	counts, err := catalog.ContractEndCounts(ctx, s.o.Catalog.DB(), r.ID)
	if err != nil {
		return nil, err
	}
	return &RunInfo{ID: r.ID, Client: r.Client, Target: targetOf(r), State: r.State, Operators: r.Operators,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Items: counts, AuditFrom: r.FirstSeq, AuditTo: r.LastSeq,
		Cert: r.Certificate}, nil
}

func targetOf(r *catalog.ContractEnd) Target {
	return Target{Kind: r.TargetKind, Bucket: r.TargetBucket, Prefix: r.TargetPrefix}
}

// check validates t.
func (s *Service) check(t Target) error {
	switch t.Kind {
	case KindZIP:
		if t.Bucket != "" || t.Prefix != "" {
			return fmt.Errorf("%w: a zip return takes no bucket or prefix", ErrBadTarget)
		}
		return nil
	case KindS3:
	default:
		return fmt.Errorf("%w: kind %q is not zip or s3", ErrBadTarget, t.Kind)
	}
	if s.o.Target == nil {
		return fmt.Errorf("%w: an s3 return needs storage.backend s3 (the copy goes to another bucket of the same service)", ErrBadTarget)
	}
	if !validBucket(t.Bucket) {
		return fmt.Errorf("%w: bucket %q is not an S3 bucket name (3 to 63 lower-case letters, digits, '.' and '-')", ErrBadTarget, t.Bucket)
	}
	if t.Bucket == s.o.Bucket {
		return fmt.Errorf("%w: bucket %q holds the recordings themselves: return them into another bucket", ErrBadTarget, t.Bucket)
	}
	if t.Prefix != "" {
		if err := storage.CheckKey(t.Prefix + "/x"); err != nil || strings.HasSuffix(t.Prefix, "/") || len(t.Prefix) > 200 {
			return fmt.Errorf("%w: prefix %q is not a key prefix such as \"returns/acme-2026\" (no leading or trailing '/', no empty or '..' segments)", ErrBadTarget, t.Prefix)
		}
	}
	return nil
}

// defaultPrefix is the prefix of an S3 return started without one: a
// folder of its own per run, so two returns into one bucket never
// overwrite each other's SHA256SUMS and certificate.
func defaultPrefix(run *catalog.ContractEnd) string { return run.Client + "/" + run.ID }

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || strings.Trim(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return false
	}
	first, last := b[0], b[len(b)-1]
	return first != '.' && first != '-' && last != '.' && last != '-' && !strings.Contains(b, "..")
}

// start opens the client's unfinished run (resuming it, with t as its
// target) or creates one, and adds the client's recordings not yet in
// it. Every start and resume is an audit entry.
func (s *Service) start(ctx context.Context, actor string, c Client, t Target) (*catalog.ContractEnd, error) {
	var run *catalog.ContractEnd
	err := s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		run, err = catalog.OpenContractEnd(ctx, tx, c.ID)
		switch {
		case errors.Is(err, catalog.ErrNoRun):
			run = &catalog.ContractEnd{ID: uuid.Must(uuid.NewV7()).String(), Client: c.ID, TargetKind: t.Kind,
				TargetBucket: t.Bucket, TargetPrefix: t.Prefix, State: StateRunning, Operators: []string{actor},
				StartedAt: s.o.Now().UTC()}
			if t.Kind == KindS3 && t.Prefix == "" {
				run.TargetPrefix = defaultPrefix(run)
			}
			e, err := s.audit(ctx, tx, actor, audit.ActionContractEndStart, run.ID, map[string]any{"client": c.ID, "target": targetOf(run)})
			if err != nil {
				return err
			}
			run.FirstSeq = e.Seq
		case err != nil:
			return err
		default:
			if t.Kind == KindS3 && t.Prefix == "" && run.TargetPrefix == defaultPrefix(run) {
				t.Prefix = run.TargetPrefix // resumed as it was started: without a prefix
			}
			if targetOf(run) != t {
				b, _ := json.Marshal(targetOf(run))
				return fmt.Errorf("%w: run %s of client %s is unfinished with the target %s: resume it with that target", ErrBlocked, run.ID, c.ID, b)
			}
			if !slices.Contains(run.Operators, actor) {
				run.Operators = append(run.Operators, actor)
			}
			run.State = StateRunning
			if _, err := s.audit(ctx, tx, actor, audit.ActionContractEndResume, run.ID, map[string]any{"client": c.ID}); err != nil {
				return err
			}
		}
		if err := catalog.PutContractEnd(ctx, tx, run); err != nil {
			return err
		}
		_, err = catalog.AddContractEndItems(ctx, tx, run.ID, c.ID)
		return err
	})
	return run, err
}

// setState records the run's state.
func (s *Service) setState(ctx context.Context, run *catalog.ContractEnd, state string) error {
	run.State = state
	return s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error { return catalog.PutContractEnd(ctx, tx, run) })
}

// audit appends one entry through q; its detail never holds a caller
// number.
func (s *Service) audit(ctx context.Context, q audit.Querier, actor string, action audit.Action, target string, detail map[string]any) (audit.Entry, error) {
	d, err := json.Marshal(detail)
	if err != nil {
		return audit.Entry{}, err
	}
	return audit.Append(ctx, q, audit.Entry{Actor: actor, Action: action, Target: target, Detail: string(d)})
}

// auditTx appends one entry in its own transaction.
func (s *Service) auditTx(ctx context.Context, actor string, action audit.Action, target string, detail map[string]any) error {
	return s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		_, err := s.audit(ctx, tx, actor, action, target, detail)
		return err
	})
}
