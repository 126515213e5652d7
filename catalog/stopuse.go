package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AddStopUse records that number (as NumberMAC) was restricted at at by
// stop-of-use request.
func AddStopUse(ctx context.Context, q Querier, mac string, at time.Time, request string) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO stop_uses (number_mac, stopped_at, request) VALUES (?, ?, ?)`,
		mac, at.UnixMicro(), request); err != nil {
		return fmt.Errorf("catalog: stop-of-use ledger: %w", err)
	}
	return nil
}

// ResumeStopUses lifts every stop of number (as NumberMAC) still in force,
// as of at, and returns how many it lifted.
func ResumeStopUses(ctx context.Context, q Querier, mac string, at time.Time) (int64, error) {
	res, err := q.ExecContext(ctx, `UPDATE stop_uses SET resumed_at = ? WHERE number_mac = ? AND resumed_at IS NULL`,
		at.UnixMicro(), mac)
	if err != nil {
		return 0, fmt.Errorf("catalog: stop-of-use ledger: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// StoppedSince returns the stop-of-use request in force for the number
// (as NumberMAC) made at or after started — a call begun before the stop,
// so its recording is covered by it — or "" when none is.
func StoppedSince(ctx context.Context, q Querier, mac string, started time.Time) (string, error) {
	var req string
	err := q.QueryRowContext(ctx, `SELECT request FROM stop_uses WHERE number_mac = ? AND stopped_at >= ? AND resumed_at IS NULL
		ORDER BY stopped_at LIMIT 1`, mac, started.UnixMicro()).Scan(&req)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return "", fmt.Errorf("catalog: stop-of-use ledger: %w", err)
	}
	return req, nil
}
