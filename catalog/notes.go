package catalog

import (
	"context"
	"fmt"
	"time"
)

// Note is a comment on a recording: by whom, when, and at which point
// of its audio (Offset < 0: on the whole recording).
type Note struct {
	ID        string
	Recording string
	Offset    time.Duration
	Author    string
	Body      string
	CreatedAt time.Time
}

// AddNote stores n.
func AddNote(ctx context.Context, q Querier, n *Note) error {
	off := int64(-1)
	if n.Offset >= 0 {
		off = n.Offset.Milliseconds()
	}
	_, err := q.ExecContext(ctx, `INSERT INTO notes (id, recording, offset_ms, author, body, created_at) VALUES (?,?,?,?,?,?)`,
		n.ID, n.Recording, off, n.Author, n.Body, micros(n.CreatedAt))
	if err != nil {
		return fmt.Errorf("catalog: note on %s: %w", n.Recording, err)
	}
	return nil
}

// Notes returns the notes on recording, oldest first.
func Notes(ctx context.Context, q Querier, recording string) ([]*Note, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, recording, offset_ms, author, body, created_at FROM notes WHERE recording = ? ORDER BY created_at, id`, recording)
	if err != nil {
		return nil, fmt.Errorf("catalog: notes of %s: %w", recording, err)
	}
	defer rows.Close()
	out := []*Note{}
	for rows.Next() {
		var (
			n       Note
			off, at int64
		)
		if err := rows.Scan(&n.ID, &n.Recording, &off, &n.Author, &n.Body, &at); err != nil {
			return nil, fmt.Errorf("catalog: notes of %s: %w", recording, err)
		}
		n.Offset = time.Duration(off) * time.Millisecond
		if off < 0 {
			n.Offset = -1
		}
		n.CreatedAt = fromMicros(at)
		out = append(out, &n)
	}
	return out, rows.Err()
}
