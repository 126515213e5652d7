package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrNoRequest is returned for an unknown data-subject request or
// provision record.
var ErrNoRequest = errors.New("request not found")

// Request is a data-subject request (package rights decides what it does).
type Request struct {
	ID           string
	Kind         string
	Callers      []string // every number of the person, normalised
	Verification string   // reference to the documents checked, never the documents
	Requester    string   // the person, or their agent
	ReceivedAt   time.Time
	AnsweredAt   *time.Time
	Outcome      string // "" while open; answered, refused…
	Result       json.RawMessage
	Operator     string
}

const requestCols = `id, kind, callers, verification, requester, received_at, answered_at, outcome, result, operator`

// PutRequest inserts r or replaces the row with its id.
func PutRequest(ctx context.Context, q Querier, r *Request) error {
	callers, err := json.Marshal(r.Callers)
	if err != nil {
		return fmt.Errorf("catalog: request %s: %w", r.ID, err)
	}
	result := r.Result
	if len(result) == 0 {
		result = json.RawMessage("{}")
	}
	_, err = q.ExecContext(ctx, `INSERT INTO requests (`+requestCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET callers = excluded.callers, verification = excluded.verification,
			requester = excluded.requester, answered_at = excluded.answered_at, outcome = excluded.outcome,
			result = excluded.result, operator = excluded.operator`,
		r.ID, r.Kind, string(callers), r.Verification, r.Requester, micros(r.ReceivedAt), optMicros(r.AnsweredAt),
		r.Outcome, string(result), r.Operator)
	if err != nil {
		return fmt.Errorf("catalog: put request %s: %w", r.ID, err)
	}
	return nil
}

func scanRequest(s scanner) (*Request, error) {
	var (
		r               Request
		callers, result string
		received        int64
		answered        sql.NullInt64
	)
	if err := s.Scan(&r.ID, &r.Kind, &callers, &r.Verification, &r.Requester, &received, &answered, &r.Outcome, &result, &r.Operator); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(callers), &r.Callers); err != nil {
		return nil, fmt.Errorf("request %s callers: %w", r.ID, err)
	}
	r.ReceivedAt, r.Result = fromMicros(received), json.RawMessage(result)
	if answered.Valid {
		t := fromMicros(answered.Int64)
		r.AnsweredAt = &t
	}
	return &r, nil
}

// GetRequest returns the request id through q.
func GetRequest(ctx context.Context, q Querier, id string) (*Request, error) {
	r, err := scanRequest(q.QueryRowContext(ctx, `SELECT `+requestCols+` FROM requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("catalog: request %s: %w", id, ErrNoRequest)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: request %s: %w", id, err)
	}
	return r, nil
}

// ListRequests returns every request, oldest first.
func ListRequests(ctx context.Context, q Querier) ([]*Request, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+requestCols+` FROM requests ORDER BY received_at, id`)
	if err != nil {
		return nil, fmt.Errorf("catalog: requests: %w", err)
	}
	defer rows.Close()
	var out []*Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Provision records recordings handed to a third party (APPI).
type Provision struct {
	ID         string
	Recipient  string
	ProvidedAt time.Time
	Items      []string // recording ids
	LegalBasis string
	ConsentRef string
	Operator   string
}

// PutProvision inserts p.
func PutProvision(ctx context.Context, q Querier, p *Provision) error {
	items, err := json.Marshal(p.Items)
	if err != nil {
		return fmt.Errorf("catalog: provision %s: %w", p.ID, err)
	}
	_, err = q.ExecContext(ctx, `INSERT INTO provisions (id, recipient, provided_at, items, legal_basis, consent_ref, operator)
		VALUES (?,?,?,?,?,?,?)`, p.ID, p.Recipient, micros(p.ProvidedAt), string(items), p.LegalBasis, p.ConsentRef, p.Operator)
	if err != nil {
		return fmt.Errorf("catalog: put provision %s: %w", p.ID, err)
	}
	return nil
}

// ListProvisions returns every provision record, oldest first.
func ListProvisions(ctx context.Context, q Querier) ([]*Provision, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, recipient, provided_at, items, legal_basis, consent_ref, operator
		FROM provisions ORDER BY provided_at, id`)
	if err != nil {
		return nil, fmt.Errorf("catalog: provisions: %w", err)
	}
	defer rows.Close()
	var out []*Provision
	for rows.Next() {
		var (
			p     Provision
			at    int64
			items string
		)
		if err := rows.Scan(&p.ID, &p.Recipient, &at, &items, &p.LegalBasis, &p.ConsentRef, &p.Operator); err != nil {
			return nil, fmt.Errorf("catalog: provisions: %w", err)
		}
		if err := json.Unmarshal([]byte(items), &p.Items); err != nil {
			return nil, fmt.Errorf("catalog: provision %s items: %w", p.ID, err)
		}
		p.ProvidedAt = fromMicros(at)
		out = append(out, &p)
	}
	return out, rows.Err()
}

// CustomerRef returns the customer reference attached to recording id.
func CustomerRef(ctx context.Context, q Querier, id string) (string, error) {
	var ref string
	err := q.QueryRowContext(ctx, `SELECT customer_ref FROM recordings WHERE id = ?`, id).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("catalog: %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("catalog: customer ref of %s: %w", id, err)
	}
	return ref, nil
}

// SetCustomerRef sets the customer reference of recording id.
func SetCustomerRef(ctx context.Context, q Querier, id, ref string) error {
	if _, err := q.ExecContext(ctx, `UPDATE recordings SET customer_ref = ? WHERE id = ?`, ref, id); err != nil {
		return fmt.Errorf("catalog: customer ref of %s: %w", id, err)
	}
	return nil
}

// Compact makes the rows that deletions and rewrites left behind go
// away, so that they no longer hold the deleted data. Erasure calls it: a
// deleted row otherwise lingers in free pages and in the log.
//
// SQLite: the WAL is written back into the database file, the file is
// rebuilt (VACUUM) and the WAL truncated again: no free page or WAL frame
// keeps a deleted row.
//
// PostgreSQL: VACUUM of the tables that held caller numbers, with
// INDEX_CLEANUP ON, since after a few deletions in a large table plain
// VACUUM (14 and later) skips the indexes and the caller index keeps the
// number. It runs beside reads and writes, unlike VACUUM FULL, which
// would lock the tables. Its reach is narrower than SQLite's: row
// versions that a snapshot of another session (an open transaction, a
// standby with hot_standby_feedback, a replication slot) may still see
// are kept until a later vacuum; the space it frees is marked reusable,
// not overwritten; and the write-ahead log, its archive and every
// standby hold the rows as they were written. See rights/README.md.
func (c *Catalog) Compact(ctx context.Context) error {
	stmts := []string{`PRAGMA wal_checkpoint(TRUNCATE)`, `VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`}
	if c.driver == Postgres {
		stmts = []string{`VACUUM (INDEX_CLEANUP ON) recordings, requests`}
	}
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("catalog: compact: %w", err)
	}
	defer conn.Close()
	for _, stmt := range stmts {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("catalog: compact: %s: %w", stmt, err)
		}
	}
	return nil
}
