package catalog

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// NumberMAC is the erasure ledger's form of a caller number: HMAC-SHA-256
// under key (derived from the master key, so the ledger alone does not
// give the numbers back, not even by trying every number of a plan).
func NumberMAC(key []byte, number string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kiroku erasure ledger\x00" + number))
	return hex.EncodeToString(m.Sum(nil))
}

// AddErasure records that number (as NumberMAC) was erased at at by
// request.
func AddErasure(ctx context.Context, q Querier, mac string, at time.Time, request string) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO erasures (number_mac, erased_at, request) VALUES (?, ?, ?)`,
		mac, at.UnixMicro(), request); err != nil {
		return fmt.Errorf("catalog: erasure ledger: %w", err)
	}
	return nil
}

// ErasedSince returns the request that erased the number (as NumberMAC)
// at or after started — a call begun before the erasure, so its recording
// is covered by it — or "" when none did.
func ErasedSince(ctx context.Context, q Querier, mac string, started time.Time) (string, error) {
	var req string
	err := q.QueryRowContext(ctx, `SELECT request FROM erasures WHERE number_mac = ? AND erased_at >= ? ORDER BY erased_at LIMIT 1`,
		mac, started.UnixMicro()).Scan(&req)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return "", fmt.Errorf("catalog: erasure ledger: %w", err)
	}
	return req, nil
}
