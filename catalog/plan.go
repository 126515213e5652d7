package catalog

import (
	"context"
	"fmt"
	"time"
)

// DueCount is how many recordings of one purpose and client there are,
// and how many of them a purge at a given instant would delete and keep.
type DueCount struct {
	Purpose, Client string
	Stored          int
	Due             int        // past their retention date, not held
	Held            int        // past their retention date, held
	OldestKept      *time.Time // start of the oldest recording a purge would keep
}

// DueCounts returns the counts of DueCount at now per purpose and client,
// ordered by purpose and client. It changes nothing.
func (c *Catalog) DueCounts(ctx context.Context, now time.Time) ([]DueCount, error) {
	at := micros(now)
	rows, err := c.db.QueryContext(ctx, `SELECT purpose, client, COUNT(*),
		SUM(CASE WHEN legal_hold = 0 AND retain_until <= ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN legal_hold = 1 AND retain_until <= ? THEN 1 ELSE 0 END),
		MIN(CASE WHEN legal_hold = 1 OR retain_until > ? THEN started_at END)
		FROM recordings GROUP BY purpose, client ORDER BY purpose, client`, at, at, at)
	if err != nil {
		return nil, fmt.Errorf("catalog: due counts: %w", err)
	}
	defer rows.Close()
	var out []DueCount
	for rows.Next() {
		var (
			d      DueCount
			oldest *int64
		)
		if err := rows.Scan(&d.Purpose, &d.Client, &d.Stored, &d.Due, &d.Held, &oldest); err != nil {
			return nil, fmt.Errorf("catalog: due counts: %w", err)
		}
		if oldest != nil {
			t := fromMicros(*oldest)
			d.OldestKept = &t
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// HeldPastDate returns how many recordings are past their retention
// date at now and kept by a legal hold.
func (c *Catalog) HeldPastDate(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recordings WHERE legal_hold = 1 AND retain_until <= ?`, micros(now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("catalog: held past their date: %w", err)
	}
	return n, nil
}

// Rows returns how many recordings, tombstones and audit entries the
// catalog holds: none in a catalog a rebuild may fill.
func (c *Catalog) Rows(ctx context.Context) (int, error) {
	var n int
	err := c.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM recordings) + (SELECT COUNT(*) FROM tombstones) + (SELECT COUNT(*) FROM audit)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("catalog: count rows: %w", err)
	}
	return n, nil
}
