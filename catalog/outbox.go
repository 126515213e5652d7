package catalog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// States of an outbox event.
const (
	OutboxPending = "pending" // waiting to be delivered, due at NextAt
	OutboxDead    = "dead"    // given up after too many tries or too long
)

// OutboxEvent is one webhook event in the outbox.
type OutboxEvent struct {
	ID        string // the delivery's id, the same at every try
	Recording string // what it is about: dropped with the recording
	Type      string
	Body      []byte // the JSON delivered, encoded when it was added
	CreatedAt time.Time
	State     string
	Tries     int // failed tries so far
	NextAt    time.Time
	LastError string
}

// OutboxStats are the outbox's figures, for metrics.
type OutboxStats struct {
	Pending int
	Dead    int
	Oldest  time.Time // created_at of the oldest pending event; zero when none
}

// newOutboxID returns a random event id.
func newOutboxID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "evt_" + hex.EncodeToString(b[:]), nil
}

// AddOutbox adds e, pending and due at once, through q — the transaction
// of the change e reports, where there is one. It fills e's ID,
// CreatedAt, State and NextAt.
func AddOutbox(ctx context.Context, q Querier, e *OutboxEvent) error {
	id, err := newOutboxID()
	if err != nil {
		return fmt.Errorf("catalog: outbox: %w", err)
	}
	e.ID, e.State = id, OutboxPending
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now().UTC()
	}
	e.NextAt = e.CreatedAt
	if _, err := q.ExecContext(ctx, `INSERT INTO webhook_outbox (id, recording, type, body, created_at, state, tries, next_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?)`, e.ID, e.Recording, e.Type, string(e.Body), micros(e.CreatedAt), OutboxPending, micros(e.NextAt)); err != nil {
		return fmt.Errorf("catalog: outbox: %w", err)
	}
	return nil
}

// AddOutboxOnce adds e unless an event of its type about its recording is
// still pending, and reports whether it did: a recording whose upload
// keeps failing while the endpoint is down then waits with one
// recording.failed, not one per attempt.
func (c *Catalog) AddOutboxOnce(ctx context.Context, e *OutboxEvent) (bool, error) {
	added := false
	err := c.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_outbox WHERE recording = ? AND type = ? AND state = ?`,
			e.Recording, e.Type, OutboxPending).Scan(&n); err != nil {
			return fmt.Errorf("catalog: outbox: %w", err)
		}
		if n > 0 {
			return nil
		}
		added = true
		return AddOutbox(ctx, tx, e)
	})
	return added, err
}

// ClaimOutbox returns up to n pending events due at now, oldest first,
// and moves each one's NextAt to now+lease in the same transaction, so
// that another node sharing the catalog does not deliver it too; a
// sender that dies while delivering leaves it due again after lease.
func (c *Catalog) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, n int) ([]*OutboxEvent, error) {
	var out []*OutboxEvent
	err := c.Tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id, recording, type, body, created_at, tries, next_at, last_error
			FROM webhook_outbox WHERE state = ? AND next_at <= ? ORDER BY next_at, created_at, id LIMIT ?`,
			OutboxPending, micros(now), n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e := &OutboxEvent{State: OutboxPending}
			var body string
			var created, next int64
			if err := rows.Scan(&e.ID, &e.Recording, &e.Type, &body, &created, &e.Tries, &next, &e.LastError); err != nil {
				return err
			}
			e.Body, e.CreatedAt, e.NextAt = []byte(body), fromMicros(created), fromMicros(next)
			out = append(out, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		until := micros(now.Add(lease))
		for _, e := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_outbox SET next_at = ? WHERE id = ?`, until, e.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: outbox claim: %w", err)
	}
	return out, nil
}

// OutboxDelivered removes event id: the endpoint took it.
func (c *Catalog) OutboxDelivered(ctx context.Context, id string) error {
	return c.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_outbox WHERE id = ?`, id); err != nil {
			return fmt.Errorf("catalog: outbox: %w", err)
		}
		return nil
	})
}

// OutboxRetry records a failed try of event id: its count of tries, the
// error and when it is next due.
func (c *Catalog) OutboxRetry(ctx context.Context, id string, tries int, next time.Time, why string) error {
	return c.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_outbox SET tries = ?, next_at = ?, last_error = ? WHERE id = ? AND state = ?`,
			tries, micros(next), why, id, OutboxPending); err != nil {
			return fmt.Errorf("catalog: outbox: %w", err)
		}
		return nil
	})
}

// OutboxDeadLetter gives event id up: kept, no longer delivered.
func (c *Catalog) OutboxDeadLetter(ctx context.Context, id string, tries int, at time.Time, why string) error {
	return c.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_outbox SET state = ?, tries = ?, dead_at = ?, last_error = ? WHERE id = ?`,
			OutboxDead, tries, micros(at), why, id); err != nil {
			return fmt.Errorf("catalog: outbox: %w", err)
		}
		return nil
	})
}

// DropOutbox deletes every event about recording, pending or dead, and
// returns how many: the recording is destroyed, and what was to be said
// about it is not said after.
func DropOutbox(ctx context.Context, q Querier, recording string) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM webhook_outbox WHERE recording = ?`, recording)
	if err != nil {
		return 0, fmt.Errorf("catalog: outbox: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Outbox returns the events about recording ("" for every one), in the
// order they were added.
func (c *Catalog) Outbox(ctx context.Context, recording string) ([]*OutboxEvent, error) {
	q, args := `SELECT id, recording, type, body, created_at, state, tries, next_at, last_error FROM webhook_outbox`, []any{}
	if recording != "" {
		q, args = q+` WHERE recording = ?`, append(args, recording)
	}
	rows, err := c.db.QueryContext(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: outbox: %w", err)
	}
	return scanOutbox(rows)
}

// NextOutboxDue returns when the earliest pending event is due; ok is
// false when none is pending.
func (c *Catalog) NextOutboxDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := c.db.QueryRowContext(ctx, `SELECT MIN(next_at) FROM webhook_outbox WHERE state = ?`, OutboxPending).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("catalog: outbox: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMicros(next.Int64), true, nil
}

// OutboxFigures counts the pending and dead events and finds the oldest
// pending one.
func (c *Catalog) OutboxFigures(ctx context.Context) (OutboxStats, error) {
	var st OutboxStats
	var oldest sql.NullInt64
	err := c.db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0),
		MIN(CASE WHEN state = ? THEN created_at END)
		FROM webhook_outbox`, OutboxPending, OutboxDead, OutboxPending).Scan(&st.Pending, &st.Dead, &oldest)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("catalog: outbox: %w", err)
	}
	if oldest.Valid {
		st.Oldest = fromMicros(oldest.Int64)
	}
	return st, nil
}

// DeadOutbox returns up to limit given-up events, the last given up
// first.
func (c *Catalog) DeadOutbox(ctx context.Context, limit int) ([]*OutboxEvent, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT id, recording, type, body, created_at, state, tries, next_at, last_error
		FROM webhook_outbox WHERE state = ? ORDER BY dead_at DESC, id LIMIT ?`, OutboxDead, limit)
	if err != nil {
		return nil, fmt.Errorf("catalog: outbox: %w", err)
	}
	return scanOutbox(rows)
}

// RequeueOutbox makes the given-up events ids (every one when all) due
// again at now, with no failed try counted and their age counted from
// now (a give-up by age would otherwise follow at the first failure);
// what an event says, its body, is unchanged. It returns the ids it
// requeued: those of ids that are not given-up events (delivered, dropped
// with their recording, still pending) are left out.
func (c *Catalog) RequeueOutbox(ctx context.Context, ids []string, all bool, now time.Time) ([]string, error) {
	var done []string
	err := c.Tx(ctx, func(tx *sql.Tx) error {
		done = done[:0]
		var rows *sql.Rows
		var err error
		if all {
			rows, err = tx.QueryContext(ctx, `SELECT id FROM webhook_outbox WHERE state = ? ORDER BY created_at, id`, OutboxDead)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				done = append(done, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		} else {
			done = append(done, ids...)
		}
		kept := done[:0]
		for _, id := range done {
			res, err := tx.ExecContext(ctx, `UPDATE webhook_outbox SET state = ?, tries = 0, next_at = ?, created_at = ?, dead_at = NULL
				WHERE id = ? AND state = ?`, OutboxPending, micros(now), micros(now), id, OutboxDead)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				kept = append(kept, id)
			}
		}
		done = kept
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: outbox requeue: %w", err)
	}
	return done, nil
}

// scanOutbox reads the events of rows (id, recording, type, body,
// created_at, state, tries, next_at, last_error) and closes them.
func scanOutbox(rows *sql.Rows) ([]*OutboxEvent, error) {
	defer rows.Close()
	var out []*OutboxEvent
	for rows.Next() {
		e := &OutboxEvent{}
		var body string
		var created, next int64
		if err := rows.Scan(&e.ID, &e.Recording, &e.Type, &body, &created, &e.State, &e.Tries, &next, &e.LastError); err != nil {
			return nil, fmt.Errorf("catalog: outbox: %w", err)
		}
		e.Body, e.CreatedAt, e.NextAt = []byte(body), fromMicros(created), fromMicros(next)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: outbox: %w", err)
	}
	return out, nil
}
