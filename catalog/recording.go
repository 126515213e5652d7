package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Recording states.
const (
	StateStored     = "stored"
	StateRestricted = "restricted"
	StatePurged     = "purged"
)

// Recording is one call's row: its facts, consent evidence and where its
// audio is. A call that was not recorded (opted out, hung up during the
// notice) still has a row, with no object, as evidence of the consent.
type Recording struct {
	ID          string
	SIPCallID   string
	Client      string
	StartedAt   time.Time
	AnsweredAt  *time.Time
	EndedAt     *time.Time
	Caller      string // normalised; shown masked outside privacy work
	Dialled     string
	Line        string
	Purpose     string
	Agent       string // the downstream the call was bridged to
	Decision    string // consent decision
	Consent     json.RawMessage
	ObjectKey   string // "" when nothing was recorded
	ManifestKey string
	Size        int64 // stored (sealed) bytes
	Duration    time.Duration
	SHA256      string // of the stored bytes
	AudioSHA256 string // of the WAV before sealing
	RetainUntil time.Time
	LegalHold   bool
	HoldReason  string
	State       string
	KeyID       string
	WrappedKey  []byte
	CutShort    bool
	// SilentChannels are the channels (caller, agent) that received no
	// RTP packet: silence in the file, not audio.
	SilentChannels []string
	// AgentID is who took the call as the agent platform named them
	// (manifest agent_id); "" when it did not.
	AgentID  string
	StoredAt time.Time
	// Manifest is the call's whole manifest as the spool left it (end
	// reason, channel statistics, pauses…), for display and export.
	Manifest json.RawMessage

	// CallerWithheld: the caller withheld the number (Privacy from a
	// trusted trunk); shown as withheld outside privacy work.
	CallerWithheld bool
}

const recordingCols = `id, sip_call_id, client, started_at, answered_at, ended_at, caller, dialled, line, purpose, agent,
	consent_decision, consent, object_key, manifest_key, size, duration_ms, sha256, audio_sha256, retain_until,
	legal_hold, hold_reason, state, key_id, wrapped_key, cut_short, stored_at, manifest, silent_channels, caller_withheld, agent_id`

func micros(t time.Time) int64 { return t.UnixMicro() }

func optMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// PutRecording inserts r, or replaces the row with the same id (an upload
// retried after a crash writes the same recording again).
func PutRecording(ctx context.Context, q Querier, r *Recording) error {
	consent, manifest := r.Consent, r.Manifest
	if len(consent) == 0 {
		consent = json.RawMessage("{}")
	}
	if len(manifest) == 0 {
		manifest = json.RawMessage("{}")
	}
	_, err := q.ExecContext(ctx, `INSERT INTO recordings (`+recordingCols+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET
			object_key = excluded.object_key, manifest_key = excluded.manifest_key, size = excluded.size,
			sha256 = excluded.sha256, audio_sha256 = excluded.audio_sha256, key_id = excluded.key_id,
			wrapped_key = excluded.wrapped_key, state = excluded.state, stored_at = excluded.stored_at,
			manifest = excluded.manifest, silent_channels = excluded.silent_channels, caller_withheld = excluded.caller_withheld,
			agent_id = excluded.agent_id`,
		r.ID, r.SIPCallID, r.Client, micros(r.StartedAt), optMicros(r.AnsweredAt), optMicros(r.EndedAt),
		r.Caller, r.Dialled, r.Line, r.Purpose, r.Agent, r.Decision, string(consent), r.ObjectKey, r.ManifestKey,
		r.Size, r.Duration.Milliseconds(), r.SHA256, r.AudioSHA256, micros(r.RetainUntil), boolInt(r.LegalHold),
		r.HoldReason, r.State, r.KeyID, r.WrappedKey, boolInt(r.CutShort), micros(r.StoredAt), string(manifest),
		strings.Join(r.SilentChannels, ","), boolInt(r.CallerWithheld), r.AgentID)
	if err != nil {
		return fmt.Errorf("catalog: put recording %s: %w", r.ID, err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanRecording(s scanner) (*Recording, error) {
	var (
		r                              Recording
		started, retain, stored, durMs int64
		answered, ended                sql.NullInt64
		consent, manifest, silent      string
		hold, cut, withheld            int
	)
	err := s.Scan(&r.ID, &r.SIPCallID, &r.Client, &started, &answered, &ended, &r.Caller, &r.Dialled, &r.Line,
		&r.Purpose, &r.Agent, &r.Decision, &consent, &r.ObjectKey, &r.ManifestKey, &r.Size, &durMs, &r.SHA256,
		&r.AudioSHA256, &retain, &hold, &r.HoldReason, &r.State, &r.KeyID, &r.WrappedKey, &cut, &stored, &manifest, &silent, &withheld, &r.AgentID)
	if err != nil {
		return nil, err
	}
	r.StartedAt, r.RetainUntil, r.StoredAt = fromMicros(started), fromMicros(retain), fromMicros(stored)
	if answered.Valid {
		t := fromMicros(answered.Int64)
		r.AnsweredAt = &t
	}
	if ended.Valid {
		t := fromMicros(ended.Int64)
		r.EndedAt = &t
	}
	r.Duration = time.Duration(durMs) * time.Millisecond
	r.Consent, r.Manifest = json.RawMessage(consent), json.RawMessage(manifest)
	r.LegalHold, r.CutShort, r.CallerWithheld = hold != 0, cut != 0, withheld != 0
	if silent != "" {
		r.SilentChannels = strings.Split(silent, ",")
	}
	return &r, nil
}

// Get returns the recording id.
func (c *Catalog) Get(ctx context.Context, id string) (*Recording, error) {
	return GetRecording(ctx, c.db, id)
}

// GetRecording returns the recording id through q.
func GetRecording(ctx context.Context, q Querier, id string) (*Recording, error) {
	r, err := scanRecording(q.QueryRowContext(ctx, `SELECT `+recordingCols+` FROM recordings WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("catalog: %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get %s: %w", id, err)
	}
	return r, nil
}

// Filter selects recordings; zero fields do not filter.
type Filter struct {
	From, To time.Time // started_at in [From, To)
	Line     string
	Purpose  string
	Caller   string
	Decision string
	Client   string
	Limit    int // default 100
}

// where appends f's conditions to a query and its arguments.
func (f Filter) where(q string, args []any) (string, []any) {
	if !f.From.IsZero() {
		q += ` AND started_at >= ?`
		args = append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND started_at < ?`
		args = append(args, micros(f.To))
	}
	for _, c := range [...]struct{ col, v string }{{"line", f.Line}, {"purpose", f.Purpose}, {"caller", f.Caller}, {"consent_decision", f.Decision}, {"client", f.Client}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	return q, args
}

// List returns recordings matching f, oldest first.
func (c *Catalog) List(ctx context.Context, f Filter) ([]*Recording, error) {
	q, args := f.where(`SELECT `+recordingCols+` FROM recordings WHERE 1=1`, nil)
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += fmt.Sprintf(` ORDER BY started_at, id LIMIT %d`, limit)
	return c.query(ctx, q, args...)
}

func (c *Catalog) query(ctx context.Context, q string, args ...any) ([]*Recording, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: query: %w", err)
	}
	defer rows.Close()
	var out []*Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: query: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Count returns how many recordings there are.
func (c *Catalog) Count(ctx context.Context) (int, error) {
	var n int
	err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recordings`).Scan(&n)
	return n, err
}

// KeyUse returns how many recordings (in any state) have their data key
// wrapped with master key id: a key still in use may not be destroyed.
func (c *Catalog) KeyUse(ctx context.Context, id string) (int, error) {
	var n int
	if err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recordings WHERE key_id = ?`, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog: recordings of key %s: %w", id, err)
	}
	return n, nil
}

// StatePurging marks a recording whose deletion has started: its objects
// may be gone but its tombstone is not written yet. A purge interrupted
// there finishes it on its next run.
const StatePurging = "purging"

// Expired returns up to limit recordings due for deletion at now: past
// their retention date, not held, oldest first; unfinished purges first.
// The partial index on retain_until keeps its cost proportional to what
// is expired, not to what is stored.
func (c *Catalog) Expired(ctx context.Context, now time.Time, limit int) ([]*Recording, error) {
	return c.query(ctx, `SELECT `+recordingCols+` FROM recordings
		WHERE legal_hold = 0 AND retain_until <= ? ORDER BY retain_until, id LIMIT ?`, micros(now), limit)
}

// SetState sets the state of the recordings ids.
func SetState(ctx context.Context, q Querier, state string, ids ...string) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := []any{state}
		for _, id := range chunk {
			args = append(args, id)
		}
		marks := strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")
		if _, err := q.ExecContext(ctx, `UPDATE recordings SET state = ? WHERE id IN (`+marks+`)`, args...); err != nil {
			return fmt.Errorf("catalog: set state of %d recordings: %w", len(chunk), err)
		}
	}
	return nil
}

// MarkPurging marks recs, as Expired returned them, as purging, each only
// if its row is still unheld, past its retention date at now and in the
// state it was read in: a hold, a new retention date or a stop-of-use
// that came in after the read keeps the row out of this purge. It returns
// the recordings it marked.
func MarkPurging(ctx context.Context, q Querier, now time.Time, recs []*Recording) ([]*Recording, error) {
	byState := map[string][]*Recording{}
	for _, r := range recs {
		byState[r.State] = append(byState[r.State], r)
	}
	marked := map[string]bool{}
	for state, rs := range byState {
		for len(rs) > 0 {
			chunk := rs[:min(len(rs), 500)]
			rs = rs[len(chunk):]
			args := []any{StatePurging, micros(now), state}
			for _, r := range chunk {
				args = append(args, r.ID)
			}
			marks := strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")
			rows, err := q.QueryContext(ctx, `UPDATE recordings SET state = ?
				WHERE legal_hold = 0 AND retain_until <= ? AND state = ? AND id IN (`+marks+`) RETURNING id`, args...)
			if err != nil {
				return nil, fmt.Errorf("catalog: mark %d recordings purging: %w", len(chunk), err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return nil, errors.Join(fmt.Errorf("catalog: mark purging: %w", err), rows.Close())
				}
				marked[id] = true
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return nil, fmt.Errorf("catalog: mark purging: %w", err)
			}
		}
	}
	var out []*Recording
	for _, r := range recs {
		if marked[r.ID] {
			out = append(out, r)
		}
	}
	return out, nil
}

// ErrHeld is returned by Tombstoner.Shred for a recording under legal
// hold, which it leaves as it is.
var ErrHeld = errors.New("recording under legal hold")

// Tombstoner replaces many rows by tombstones in one transaction with
// prepared statements.
type Tombstoner struct {
	tx              *sql.Tx
	ins, del, notes *sql.Stmt
}

// NewTombstoner prepares the statements on tx.
func NewTombstoner(ctx context.Context, tx *sql.Tx) (*Tombstoner, error) {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO tombstones (id, purpose, line, started_at, deleted_at, reason, actor, object_key, sha256, client)
		VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("catalog: prepare tombstone: %w", err)
	}
	del, err := tx.PrepareContext(ctx, `DELETE FROM recordings WHERE id = ?`)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("catalog: prepare delete: %w", err), ins.Close())
	}
	notes, err := tx.PrepareContext(ctx, `DELETE FROM notes WHERE recording = ?`)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("catalog: prepare delete: %w", err), ins.Close(), del.Close())
	}
	return &Tombstoner{tx: tx, ins: ins, del: del, notes: notes}, nil
}

// Tombstone replaces r's row by its tombstone. It reports whether the
// row was still there: false when another transaction (a purge on
// another node, an erasure) replaced it first, so that the act is
// audited once.
func (t *Tombstoner) Tombstone(ctx context.Context, r *Recording, at time.Time, reason, actor string) (bool, error) {
	if _, err := t.ins.ExecContext(ctx, r.ID, r.Purpose, r.Line, micros(r.StartedAt), micros(at), reason, actor, r.ObjectKey, r.SHA256, r.Client); err != nil {
		return false, fmt.Errorf("catalog: tombstone %s: %w", r.ID, err)
	}
	res, err := t.del.ExecContext(ctx, r.ID)
	if err != nil {
		return false, fmt.Errorf("catalog: delete %s: %w", r.ID, err)
	}
	if _, err := t.notes.ExecContext(ctx, r.ID); err != nil {
		return false, fmt.Errorf("catalog: delete the notes of %s: %w", r.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("catalog: delete %s: %w", r.ID, err)
	}
	return n > 0, nil
}

// Shred destroys recording id in the Tombstoner's transaction: it reads
// the row there, replaces it by its tombstone (its wrapped data key and
// caller number go with it) and then calls audit with the row as read,
// so that the act and its audit entry commit together, once. Reading in
// the transaction, which writers take in turn, sees every hold and every
// deletion committed before it: a recording gone meanwhile (another
// node's purge, an erasure) returns ErrNotFound and one under legal hold
// returns ErrHeld with its row; neither is touched nor audited. The
// objects are the caller's to delete afterwards.
func (t *Tombstoner) Shred(ctx context.Context, id string, at time.Time, reason, actor string, audit func(*Recording) error) (*Recording, error) {
	r, err := GetRecording(ctx, t.tx, id)
	if err != nil {
		return nil, err
	}
	if r.LegalHold {
		return r, fmt.Errorf("catalog: %s: %w", id, ErrHeld)
	}
	deleted, err := t.Tombstone(ctx, r, at, reason, actor)
	if err != nil {
		return nil, err
	}
	if !deleted { // replaced by a writer that bypassed the turn taking
		return nil, fmt.Errorf("catalog: %s: %w", id, ErrNotFound)
	}
	// Webhook events not yet delivered about it are not delivered after
	// it is destroyed (an erasure most of all).
	if _, err := DropOutbox(ctx, t.tx, id); err != nil {
		return nil, err
	}
	if err := audit(r); err != nil {
		return nil, err
	}
	return r, nil
}

// Close releases the statements.
func (t *Tombstoner) Close() error { return errors.Join(t.ins.Close(), t.del.Close(), t.notes.Close()) }

// Tombstone replaces a recording's row by its tombstone: what was deleted,
// when, why and by whom, without audio, caller number or key.
func Tombstone(ctx context.Context, q Querier, r *Recording, at time.Time, reason, actor string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO tombstones (id, purpose, line, started_at, deleted_at, reason, actor, object_key, sha256, client)
		VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`,
		r.ID, r.Purpose, r.Line, micros(r.StartedAt), micros(at), reason, actor, r.ObjectKey, r.SHA256, r.Client)
	if err != nil {
		return fmt.Errorf("catalog: tombstone %s: %w", r.ID, err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM recordings WHERE id = ?`, r.ID); err != nil {
		return fmt.Errorf("catalog: delete %s: %w", r.ID, err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM notes WHERE recording = ?`, r.ID); err != nil {
		return fmt.Errorf("catalog: delete the notes of %s: %w", r.ID, err)
	}
	return nil
}

// TombstoneRow is a deleted recording's trace.
type TombstoneRow struct {
	ID, Purpose, Line, Reason, Actor, ObjectKey, SHA256, Client string
	StartedAt, DeletedAt                                        time.Time
}

// GetTombstone returns the tombstone of id.
func (c *Catalog) GetTombstone(ctx context.Context, id string) (*TombstoneRow, error) {
	var (
		t           TombstoneRow
		start, dead int64
	)
	err := c.db.QueryRowContext(ctx, `SELECT id, purpose, line, started_at, deleted_at, reason, actor, object_key, sha256, client
		FROM tombstones WHERE id = ?`, id).Scan(&t.ID, &t.Purpose, &t.Line, &start, &dead, &t.Reason, &t.Actor, &t.ObjectKey, &t.SHA256, &t.Client)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("catalog: tombstone %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: tombstone %s: %w", id, err)
	}
	t.StartedAt, t.DeletedAt = fromMicros(start), fromMicros(dead)
	return &t, nil
}

// SetHold sets or clears the legal hold of recordings ids.
func SetHold(ctx context.Context, q Querier, on bool, reason string, ids ...string) error {
	if !on {
		reason = ""
	}
	for _, id := range ids {
		if _, err := q.ExecContext(ctx, `UPDATE recordings SET legal_hold = ?, hold_reason = ? WHERE id = ?`, boolInt(on), reason, id); err != nil {
			return fmt.Errorf("catalog: hold %s: %w", id, err)
		}
	}
	return nil
}

// SetRetainUntil changes a recording's retention date.
func SetRetainUntil(ctx context.Context, q Querier, id string, t time.Time) error {
	if _, err := q.ExecContext(ctx, `UPDATE recordings SET retain_until = ? WHERE id = ?`, micros(t), id); err != nil {
		return fmt.Errorf("catalog: retain-until of %s: %w", id, err)
	}
	return nil
}

// Select returns the recordings matching f without a limit, in batches to
// fn (for holds by caller or time range and policy changes).
func (c *Catalog) Select(ctx context.Context, f Filter, fn func([]*Recording) error) error {
	after := ""
	for {
		q, args := f.where(`SELECT `+recordingCols+` FROM recordings WHERE id > ?`, []any{after})
		batch, err := c.query(ctx, q+` ORDER BY id LIMIT 1000`, args...)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if err := fn(batch); err != nil {
			return err
		}
		after = batch[len(batch)-1].ID
	}
}

// PurposeCounts returns how many recordings each purpose has.
func (c *Catalog) PurposeCounts(ctx context.Context) (map[string]int, error) {
	return c.countBy(ctx, "purposes", `SELECT purpose, COUNT(*) FROM recordings GROUP BY purpose`)
}

// countBy runs query, which selects a name and a count per group.
func (c *Catalog) countBy(ctx context.Context, what, query string) (map[string]int, error) {
	rows, err := c.db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("catalog: %s: %w", what, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			name string
			n    int
		)
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("catalog: %s: %w", what, err)
		}
		out[name] = n
	}
	return out, rows.Err()
}
