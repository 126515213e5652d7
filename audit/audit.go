package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Querier runs statements on the database or a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Genesis is the previous hash of the first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one audited act.
type Entry struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`  // a token name, "kirokud", "retention"…
	Action   Action    `json:"action"` // one of the Action constants
	Target   string    `json:"target"` // usually a recording id
	Reason   string    `json:"reason,omitempty"`
	Detail   string    `json:"detail,omitempty"` // JSON or text: byte range, client address…
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// canonical is the hashed form: fixed field order, times in UTC
// microseconds, and the previous hash.
func (e *Entry) canonical() []byte {
	b, _ := json.Marshal([]any{e.Seq, e.At.UnixMicro(), e.Actor, e.Action, e.Target, e.Reason, e.Detail, e.PrevHash})
	return b
}

func (e *Entry) sum() string {
	h := sha256.Sum256(e.canonical())
	return hex.EncodeToString(h[:])
}

// Append adds e after the current head through q and returns it with its
// sequence and hashes. q is ideally the transaction of the act it
// records, so that the act and its entry commit together; the catalog's
// write transactions are serialised (catalog.Catalog.Tx), so the head
// read here is still the head when the entry is inserted. Through the
// database itself (a *sql.DB) the entry is appended in a transaction of
// its own, for the same reason.
func Append(ctx context.Context, q Querier, e Entry) (Entry, error) {
	if err := e.check(); err != nil {
		return e, err
	}
	db, ok := q.(beginner)
	if !ok {
		return appendAt(ctx, q, e)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return e, fmt.Errorf("audit: begin: %w", err)
	}
	if e, err = appendAt(ctx, tx, e); err != nil {
		return e, errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return e, fmt.Errorf("audit: commit: %w", err)
	}
	return e, nil
}

// beginner is a database that begins transactions (a *sql.DB).
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// appendAt appends e after the head q reads.
func appendAt(ctx context.Context, q Querier, e Entry) (Entry, error) {
	var (
		seq  int64
		prev string
	)
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		seq, prev = 0, Genesis
	case err != nil:
		return e, fmt.Errorf("audit: head: %w", err)
	}
	e.Seq, e.PrevHash = seq+1, prev
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = time.UnixMicro(e.At.UnixMicro()).UTC()
	e.Hash = e.sum()
	_, err = q.ExecContext(ctx, `INSERT INTO audit (seq, at, actor, action, target, reason, detail, prev_hash, hash)
		VALUES (?,?,?,?,?,?,?,?,?)`, e.Seq, e.At.UnixMicro(), e.Actor, e.Action, e.Target, e.Reason, e.Detail, e.PrevHash, e.Hash)
	if err != nil {
		return e, fmt.Errorf("audit: append %s %s: %w", e.Action, e.Target, err)
	}
	return e, nil
}

// Head returns the last entry's sequence and hash (0 and Genesis when the
// log is empty).
func Head(ctx context.Context, q Querier) (int64, string, error) {
	var (
		seq  int64
		hash string
	)
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, Genesis, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit: head: %w", err)
	}
	return seq, hash, nil
}

// Filter selects entries; zero fields do not filter.
type Filter struct {
	Target, Actor, Action string
	From, To              time.Time
	AfterSeq              int64
	Limit                 int // default 100
}

// List returns entries matching f in sequence order.
func List(ctx context.Context, q Querier, f Filter) ([]Entry, error) {
	query := `SELECT seq, at, actor, action, target, reason, detail, prev_hash, hash FROM audit WHERE seq > ?`
	args := []any{f.AfterSeq}
	for col, v := range map[string]string{"target": f.Target, "actor": f.Actor, "action": f.Action} {
		if v != "" {
			query += ` AND ` + col + ` = ?`
			args = append(args, v)
		}
	}
	if !f.From.IsZero() {
		query += ` AND at >= ?`
		args = append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		query += ` AND at < ?`
		args = append(args, f.To.UnixMicro())
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query += fmt.Sprintf(` ORDER BY seq LIMIT %d`, limit)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var (
			e  Entry
			at int64
		)
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Reason, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("audit: list: %w", err)
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// BrokenError names the first entry where the chain does not hold.
type BrokenError struct {
	Seq int64
	Why string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", e.Seq, e.Why)
}

// Verify walks the whole chain and returns the number of entries checked,
// or a *BrokenError for the first entry that was edited, removed, inserted
// or moved.
func Verify(ctx context.Context, q Querier) (int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, at, actor, action, target, reason, detail, prev_hash, hash FROM audit ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	want, prev := int64(1), Genesis
	for rows.Next() {
		var (
			e  Entry
			at int64
		)
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Reason, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return want - 1, fmt.Errorf("audit: verify: %w", err)
		}
		e.At = time.UnixMicro(at).UTC()
		switch {
		case e.Seq != want:
			return want - 1, &BrokenError{Seq: want, Why: fmt.Sprintf("entry %d missing (next is %d)", want, e.Seq)}
		case e.PrevHash != prev:
			return want - 1, &BrokenError{Seq: e.Seq, Why: "previous hash does not match the entry before it"}
		case e.sum() != e.Hash:
			return want - 1, &BrokenError{Seq: e.Seq, Why: "content does not match its hash (edited)"}
		}
		prev = e.Hash
		want++
	}
	return want - 1, rows.Err()
}

// Appender appends many entries in one transaction, reading the head and
// preparing the insert once (the purge writes thousands at a time).
type Appender struct {
	stmt *sql.Stmt
	seq  int64
	prev string
}

// Preparer is a transaction that prepares statements.
type Preparer interface {
	Querier
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// NewAppender starts appending after the current head through tx, a
// transaction of the catalog (whose write transactions are serialised,
// so the head stays the head until tx ends).
func NewAppender(ctx context.Context, tx Preparer) (*Appender, error) {
	seq, prev, err := Head(ctx, tx)
	if err != nil {
		return nil, err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit (seq, at, actor, action, target, reason, detail, prev_hash, hash)
		VALUES (?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return nil, fmt.Errorf("audit: prepare: %w", err)
	}
	return &Appender{stmt: stmt, seq: seq, prev: prev}, nil
}

// ErrUnknownAction is returned by Append for an action not in Actions.
var ErrUnknownAction = errors.New("unknown audit action")

// check refuses an entry whose action is not one of the list.
func (e Entry) check() error {
	if !e.Action.Known() {
		return fmt.Errorf("audit: append %q %s: %w", e.Action, e.Target, ErrUnknownAction)
	}
	return nil
}

// Append adds e after the last entry appended.
func (a *Appender) Append(ctx context.Context, e Entry) (Entry, error) {
	if err := e.check(); err != nil {
		return e, err
	}
	e.Seq, e.PrevHash = a.seq+1, a.prev
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = time.UnixMicro(e.At.UnixMicro()).UTC()
	e.Hash = e.sum()
	if _, err := a.stmt.ExecContext(ctx, e.Seq, e.At.UnixMicro(), e.Actor, e.Action, e.Target, e.Reason, e.Detail, e.PrevHash, e.Hash); err != nil {
		return e, fmt.Errorf("audit: append %s %s: %w", e.Action, e.Target, err)
	}
	a.seq, a.prev = e.Seq, e.Hash
	return e, nil
}

// Close releases the prepared statement.
func (a *Appender) Close() error { return a.stmt.Close() }
