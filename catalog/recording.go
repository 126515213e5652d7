package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
	StoredAt    time.Time
	// Manifest is the call's whole manifest as the spool left it (end
	// reason, channel statistics, pauses…), for display and export.
	Manifest json.RawMessage
}

const recordingCols = `id, sip_call_id, client, started_at, answered_at, ended_at, caller, dialled, line, purpose, agent,
	consent_decision, consent, object_key, manifest_key, size, duration_ms, sha256, audio_sha256, retain_until,
	legal_hold, hold_reason, state, key_id, wrapped_key, cut_short, stored_at, manifest`

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
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET
			object_key = excluded.object_key, manifest_key = excluded.manifest_key, size = excluded.size,
			sha256 = excluded.sha256, audio_sha256 = excluded.audio_sha256, key_id = excluded.key_id,
			wrapped_key = excluded.wrapped_key, state = excluded.state, stored_at = excluded.stored_at,
			manifest = excluded.manifest`,
		r.ID, r.SIPCallID, r.Client, micros(r.StartedAt), optMicros(r.AnsweredAt), optMicros(r.EndedAt),
		r.Caller, r.Dialled, r.Line, r.Purpose, r.Agent, r.Decision, string(consent), r.ObjectKey, r.ManifestKey,
		r.Size, r.Duration.Milliseconds(), r.SHA256, r.AudioSHA256, micros(r.RetainUntil), boolInt(r.LegalHold),
		r.HoldReason, r.State, r.KeyID, r.WrappedKey, boolInt(r.CutShort), micros(r.StoredAt), string(manifest))
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
		consent, manifest              string
		hold, cut                      int
	)
	err := s.Scan(&r.ID, &r.SIPCallID, &r.Client, &started, &answered, &ended, &r.Caller, &r.Dialled, &r.Line,
		&r.Purpose, &r.Agent, &r.Decision, &consent, &r.ObjectKey, &r.ManifestKey, &r.Size, &durMs, &r.SHA256,
		&r.AudioSHA256, &retain, &hold, &r.HoldReason, &r.State, &r.KeyID, &r.WrappedKey, &cut, &stored, &manifest)
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
	r.LegalHold, r.CutShort = hold != 0, cut != 0
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
	Limit    int // default 100
}

// List returns recordings matching f, oldest first.
func (c *Catalog) List(ctx context.Context, f Filter) ([]*Recording, error) {
	q := `SELECT ` + recordingCols + ` FROM recordings WHERE 1=1`
	var args []any
	if !f.From.IsZero() {
		q += ` AND started_at >= ?`
		args = append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND started_at < ?`
		args = append(args, micros(f.To))
	}
	for col, v := range map[string]string{"line": f.Line, "purpose": f.Purpose, "caller": f.Caller, "consent_decision": f.Decision} {
		if v != "" {
			q += ` AND ` + col + ` = ?`
			args = append(args, v)
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += fmt.Sprintf(` ORDER BY started_at, id LIMIT %d`, limit)
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list: %w", err)
	}
	defer rows.Close()
	var out []*Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list: %w", err)
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
