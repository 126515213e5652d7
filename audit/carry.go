package audit

import (
	"context"
	"fmt"
	"time"
)

// Carry copies the whole audit log of from into to, entry for entry with
// their sequences and hashes, so that entries appended to to afterwards
// chain onto that history: a catalog rebuilt from the bucket keeps the
// audit of its backup (-rebuild-catalog -keys-from). from's chain must
// verify and to's log must be empty; else nothing is copied. It returns
// the entries copied.
func Carry(ctx context.Context, from, to Querier) (int64, error) {
	n, err := Verify(ctx, from)
	if err != nil {
		return 0, fmt.Errorf("audit: carry: the source's chain does not verify after entry %d: %w", n, err)
	}
	seq, _, err := Head(ctx, to)
	if err != nil {
		return 0, fmt.Errorf("audit: carry: %w", err)
	}
	if seq != 0 {
		return 0, fmt.Errorf("audit: carry: the target's audit log is not empty (%d entries)", seq)
	}
	rows, err := from.QueryContext(ctx, `SELECT seq, at, actor, action, target, reason, detail, prev_hash, hash FROM audit ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("audit: carry: %w", err)
	}
	defer rows.Close()
	var copied int64
	for rows.Next() {
		var (
			e  Entry
			at int64
		)
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Reason, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return copied, fmt.Errorf("audit: carry: %w", err)
		}
		e.At = time.UnixMicro(at).UTC()
		if _, err := to.ExecContext(ctx, `INSERT INTO audit (seq, at, actor, action, target, reason, detail, prev_hash, hash)
			VALUES (?,?,?,?,?,?,?,?,?)`, e.Seq, at, e.Actor, e.Action, e.Target, e.Reason, e.Detail, e.PrevHash, e.Hash); err != nil {
			return copied, fmt.Errorf("audit: carry entry %d: %w", e.Seq, err)
		}
		copied++
	}
	if err := rows.Err(); err != nil {
		return copied, fmt.Errorf("audit: carry: %w", err)
	}
	if copied != n {
		return copied, fmt.Errorf("audit: carry: copied %d entries of the %d verified", copied, n)
	}
	return copied, nil
}
