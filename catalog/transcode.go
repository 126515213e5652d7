package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Transcode is a recording awaiting conversion of its stored object to
// its purpose's format (the background transcoder's queue).
type Transcode struct {
	ID       string // recording
	Format   string // to convert to: flac or opus
	Bitrate  int    // opus's, bits a second
	QueuedAt time.Time
	// NewKey is the object a conversion put or was putting; "" before one
	// started. OldKey is set once the recording's row was switched to
	// NewKey: the old object is then what is left to destroy.
	NewKey, OldKey string
	Attempts       int
	Error          string // the last attempt's, "" when none failed
}

// QueueTranscode queues recording id for conversion to format, in the
// transaction that stores it.
func QueueTranscode(ctx context.Context, q Querier, id, format string, bitrate int, at time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO transcodes (id, format, bitrate, queued_at) VALUES (?,?,?,?)
		ON CONFLICT (id) DO NOTHING`, id, format, bitrate, micros(at))
	if err != nil {
		return fmt.Errorf("catalog: queue transcode %s: %w", id, err)
	}
	return nil
}

const transcodeCols = `id, format, bitrate, queued_at, new_key, old_key, attempts, error`

func scanTranscode(s scanner) (*Transcode, error) {
	var t Transcode
	var queued int64
	if err := s.Scan(&t.ID, &t.Format, &t.Bitrate, &queued, &t.NewKey, &t.OldKey, &t.Attempts, &t.Error); err != nil {
		return nil, err
	}
	t.QueuedAt = fromMicros(queued)
	return &t, nil
}

// Transcodes returns up to limit queued conversions, the oldest queued
// first, after the recording id after ("" from the start).
func (c *Catalog) Transcodes(ctx context.Context, after string, limit int) ([]*Transcode, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT `+transcodeCols+` FROM transcodes
		WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("catalog: transcodes: %w", err)
	}
	defer rows.Close()
	var out []*Transcode
	for rows.Next() {
		t, err := scanTranscode(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: transcodes: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// GetTranscode returns the queued conversion of recording id through q.
func GetTranscode(ctx context.Context, q Querier, id string) (*Transcode, error) {
	t, err := scanTranscode(q.QueryRowContext(ctx, `SELECT `+transcodeCols+` FROM transcodes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: transcode %s: %w", id, err)
	}
	return t, nil
}

// CountTranscodes returns how many conversions are queued.
func (c *Catalog) CountTranscodes(ctx context.Context) (int, error) {
	var n int
	err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM transcodes`).Scan(&n)
	return n, err
}

// StartTranscode records that a conversion of id is about to put newKey,
// before it does, and counts the attempt.
func StartTranscode(ctx context.Context, q Querier, id, newKey string) error {
	_, err := q.ExecContext(ctx, `UPDATE transcodes SET new_key = ?, attempts = attempts + 1 WHERE id = ?`, newKey, id)
	if err != nil {
		return fmt.Errorf("catalog: start transcode %s: %w", id, err)
	}
	return nil
}

// FailTranscode records why the last attempt of id failed.
func FailTranscode(ctx context.Context, q Querier, id, why string) error {
	_, err := q.ExecContext(ctx, `UPDATE transcodes SET error = ? WHERE id = ?`, why, id)
	if err != nil {
		return fmt.Errorf("catalog: fail transcode %s: %w", id, err)
	}
	return nil
}

// SwitchedTranscode records, in the transaction that switched the
// recording's row to the new object, the old object left to destroy.
func SwitchedTranscode(ctx context.Context, q Querier, id, oldKey string) error {
	_, err := q.ExecContext(ctx, `UPDATE transcodes SET old_key = ?, error = '' WHERE id = ?`, oldKey, id)
	if err != nil {
		return fmt.Errorf("catalog: switched transcode %s: %w", id, err)
	}
	return nil
}

// DoneTranscode takes id off the queue.
func DoneTranscode(ctx context.Context, q Querier, id string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM transcodes WHERE id = ?`, id); err != nil {
		return fmt.Errorf("catalog: done transcode %s: %w", id, err)
	}
	return nil
}

// SwitchObject points recording id's row at its converted object: its
// key, sealed size and SHA-256, the SHA-256 of its audio and the
// manifest describing it. It changes nothing unless the row still names
// oldKey, and reports whether it did.
func SwitchObject(ctx context.Context, q Querier, id, oldKey string, r *Recording) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE recordings SET object_key = ?, size = ?, sha256 = ?, audio_sha256 = ?, manifest = ?
		WHERE id = ? AND object_key = ?`, r.ObjectKey, r.Size, r.SHA256, r.AudioSHA256, string(r.Manifest), id, oldKey)
	if err != nil {
		return false, fmt.Errorf("catalog: switch object of %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("catalog: switch object of %s: %w", id, err)
	}
	return n == 1, nil
}
