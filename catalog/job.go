package catalog

import (
	"context"
	"fmt"
	"time"
)

// ClaimRun claims the run of job name scheduled for slot, through q (a
// write transaction, or the database). It reports false when a run of
// that slot or a later one was claimed already, by this node or another
// sharing the catalog: a schedule that fires on every node then runs on
// one. at is when the claim is made.
func ClaimRun(ctx context.Context, q Querier, name string, slot, at time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO job_runs (name, slot, at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET slot = excluded.slot, at = excluded.at WHERE job_runs.slot < excluded.slot`,
		name, micros(slot), micros(at))
	if err != nil {
		return false, fmt.Errorf("catalog: claim %s run of %s: %w", name, slot.Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("catalog: claim %s run of %s: %w", name, slot.Format(time.RFC3339), err)
	}
	return n > 0, nil
}
