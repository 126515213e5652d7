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

// Errors of the contract-end tables (test with errors.Is).
var (
	// ErrNoRun is returned for an unknown contract-end run.
	ErrNoRun = errors.New("contract-end run not found")
	// ErrRunFinished is returned when a write would change a run that
	// is already finished (certified): a stale writer, such as a second
	// node certifying the same run, must not replace its certificate.
	ErrRunFinished = errors.New("contract-end run already finished")
	// ErrItemChanged is returned by SwapContractEndItem when the item
	// is no longer in the state its writer read: someone else moved it.
	ErrItemChanged = errors.New("contract-end item changed meanwhile")
)

// ContractEnd is one run returning and destroying a client's recordings
// at the end of its contract (package contract decides what it does).
type ContractEnd struct {
	ID           string
	Client       string
	TargetKind   string // zip | s3
	TargetBucket string
	TargetPrefix string
	State        string
	Operators    []string // every actor who started or resumed it, in order
	StartedAt    time.Time
	FinishedAt   *time.Time
	FirstSeq     int64 // the audit entry that started it
	LastSeq      int64 // the audit entry that certified it
	Certificate  json.RawMessage
}

const contractEndCols = `id, client, target_kind, target_bucket, target_prefix, state, operators, started_at, finished_at,
	first_seq, last_seq, certificate`

// PutContractEnd inserts r or replaces the row with its id. Only one
// unfinished run per client may exist: a second one fails. A run that is
// finished is never replaced: that fails with ErrRunFinished.
func PutContractEnd(ctx context.Context, q Querier, r *ContractEnd) error {
	ops, err := json.Marshal(r.Operators)
	if err != nil {
		return fmt.Errorf("catalog: contract end %s: %w", r.ID, err)
	}
	res, err := q.ExecContext(ctx, `INSERT INTO contract_ends (`+contractEndCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, operators = excluded.operators,
			finished_at = excluded.finished_at, first_seq = excluded.first_seq, last_seq = excluded.last_seq,
			certificate = excluded.certificate
		WHERE contract_ends.finished_at IS NULL`,
		r.ID, r.Client, r.TargetKind, r.TargetBucket, r.TargetPrefix, r.State, string(ops), micros(r.StartedAt),
		optMicros(r.FinishedAt), r.FirstSeq, r.LastSeq, string(r.Certificate))
	if err != nil {
		return fmt.Errorf("catalog: put contract end %s: %w", r.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("catalog: put contract end %s: %w", r.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("catalog: put contract end %s: %w", r.ID, ErrRunFinished)
	}
	return nil
}

func scanContractEnd(s scanner) (*ContractEnd, error) {
	var (
		r         ContractEnd
		ops, cert string
		started   int64
		finished  sql.NullInt64
	)
	if err := s.Scan(&r.ID, &r.Client, &r.TargetKind, &r.TargetBucket, &r.TargetPrefix, &r.State, &ops, &started, &finished,
		&r.FirstSeq, &r.LastSeq, &cert); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ops), &r.Operators); err != nil {
		return nil, fmt.Errorf("contract end %s operators: %w", r.ID, err)
	}
	r.StartedAt = fromMicros(started)
	if finished.Valid {
		t := fromMicros(finished.Int64)
		r.FinishedAt = &t
	}
	if cert != "" {
		r.Certificate = json.RawMessage(cert)
	}
	return &r, nil
}

// GetContractEnd returns run id.
func GetContractEnd(ctx context.Context, q Querier, id string) (*ContractEnd, error) {
	r, err := scanContractEnd(q.QueryRowContext(ctx, `SELECT `+contractEndCols+` FROM contract_ends WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("catalog: contract end %s: %w", id, ErrNoRun)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: contract end %s: %w", id, err)
	}
	return r, nil
}

// OpenContractEnd returns the unfinished run of client, or ErrNoRun.
func OpenContractEnd(ctx context.Context, q Querier, client string) (*ContractEnd, error) {
	r, err := scanContractEnd(q.QueryRowContext(ctx, `SELECT `+contractEndCols+` FROM contract_ends
		WHERE client = ? AND finished_at IS NULL`, client))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("catalog: open contract end of %s: %w", client, ErrNoRun)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: open contract end of %s: %w", client, err)
	}
	return r, nil
}

// ListContractEnds returns every run, oldest first.
func ListContractEnds(ctx context.Context, q Querier) ([]*ContractEnd, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+contractEndCols+` FROM contract_ends ORDER BY started_at, id`)
	if err != nil {
		return nil, fmt.Errorf("catalog: contract ends: %w", err)
	}
	defer rows.Close()
	var out []*ContractEnd
	for rows.Next() {
		r, err := scanContractEnd(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: contract ends: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Contract-end item states, in the order an item goes through them.
const (
	ItemPending   = "pending"   // not yet copied to the target
	ItemExported  = "exported"  // copied (or streamed), checksums recorded
	ItemVerified  = "verified"  // the copy read back (or confirmed) with the same checksums
	ItemFailed    = "failed"    // could not be exported or verified: kept, never destroyed
	ItemHeld      = "held"      // verified, and kept: under legal hold at destruction
	ItemShredded  = "shredded"  // data key and row destroyed (tombstone); objects may remain
	ItemDestroyed = "destroyed" // objects deleted too
	ItemGone      = "gone"      // deleted meanwhile by another path (retention, erasure)
)

// ContractEndItem is one recording of a run and how far it went.
type ContractEndItem struct {
	Run, Recording               string
	StartedAt                    time.Time
	ObjectKey, ManifestKey       string
	State                        string
	Held                         bool // kept under legal hold at destruction
	HoldReason                   string
	AudioFile, AudioSHA256       string // in the return copy; "" without audio
	ManifestFile, ManifestSHA256 string
	Error                        string
	VerifiedAt, DestroyedAt      *time.Time
}

const itemCols = `run, recording, started_at, object_key, manifest_key, state, held, hold_reason, audio_file, audio_sha256,
	manifest_file, manifest_sha256, error, verified_at, destroyed_at`

// AddContractEndItems adds to run every recording of client not yet in
// it (stored or restricted; not those a purge is deleting) as pending,
// and returns how many it added.
func AddContractEndItems(ctx context.Context, q Querier, run, client string) (int64, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO contract_end_items (run, recording, started_at, object_key, manifest_key, state)
		SELECT CAST(? AS TEXT), id, started_at, object_key, manifest_key, CAST(? AS TEXT) FROM recordings
		WHERE client = ? AND state IN (?, ?)
		ON CONFLICT (run, recording) DO NOTHING`, run, ItemPending, client, StateStored, StateRestricted)
	if err != nil {
		return 0, fmt.Errorf("catalog: items of contract end %s: %w", run, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("catalog: items of contract end %s: %w", run, err)
	}
	return n, nil
}

func scanItem(s scanner) (*ContractEndItem, error) {
	var (
		it                  ContractEndItem
		started             int64
		held                int
		verified, destroyed sql.NullInt64
	)
	if err := s.Scan(&it.Run, &it.Recording, &started, &it.ObjectKey, &it.ManifestKey, &it.State, &held, &it.HoldReason,
		&it.AudioFile, &it.AudioSHA256, &it.ManifestFile, &it.ManifestSHA256, &it.Error, &verified, &destroyed); err != nil {
		return nil, err
	}
	it.StartedAt, it.Held = fromMicros(started), held != 0
	for _, p := range []struct {
		v   sql.NullInt64
		out **time.Time
	}{{verified, &it.VerifiedAt}, {destroyed, &it.DestroyedAt}} {
		if p.v.Valid {
			t := fromMicros(p.v.Int64)
			*p.out = &t
		}
	}
	return &it, nil
}

// ContractEndItems returns up to limit items of run after the recording
// id after, in id order; with states, only items in one of them.
func ContractEndItems(ctx context.Context, q Querier, run, after string, limit int, states ...string) ([]*ContractEndItem, error) {
	query := `SELECT ` + itemCols + ` FROM contract_end_items WHERE run = ? AND recording > ?`
	args := []any{run, after}
	if len(states) > 0 {
		query += ` AND state IN (?` + strings.Repeat(",?", len(states)-1) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	rows, err := q.QueryContext(ctx, query+fmt.Sprintf(` ORDER BY recording LIMIT %d`, limit), args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: items of contract end %s: %w", run, err)
	}
	defer rows.Close()
	var out []*ContractEndItem
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: items of contract end %s: %w", run, err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// EachContractEndItem calls fn for every item of run in id order (in
// pages; fn may update the item it is given), with states as in
// ContractEndItems.
func EachContractEndItem(ctx context.Context, q Querier, run string, fn func(*ContractEndItem) error, states ...string) error {
	after := ""
	for {
		page, err := ContractEndItems(ctx, q, run, after, 500, states...)
		if err != nil {
			return err
		}
		for _, it := range page {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1].Recording
	}
}

// PutContractEndItem writes an item's progress, whatever its state
// was. Package contract writes through SwapContractEndItem instead.
func PutContractEndItem(ctx context.Context, q Querier, it *ContractEndItem) error {
	_, err := updateItem(ctx, q, it, "")
	return err
}

// SwapContractEndItem writes an item's progress only if the item is
// still in state from, as its writer read it; otherwise nothing changes
// and it returns ErrItemChanged. A writer working from a stale read (a
// second node on the same run) cannot undo what another did: turn a
// shredded item back into gone, or a verified one back into exported.
func SwapContractEndItem(ctx context.Context, q Querier, it *ContractEndItem, from string) error {
	n, err := updateItem(ctx, q, it, from)
	if err == nil && n == 0 {
		err = fmt.Errorf("catalog: item %s of contract end %s: %w: not %s any more (writing %s)", it.Recording, it.Run, ErrItemChanged, from, it.State)
	}
	return err
}

// updateItem writes it, if from is not "" only while its state is from,
// and returns how many rows it changed.
func updateItem(ctx context.Context, q Querier, it *ContractEndItem, from string) (int64, error) {
	query := `UPDATE contract_end_items SET state = ?, held = ?, hold_reason = ?, audio_file = ?,
		audio_sha256 = ?, manifest_file = ?, manifest_sha256 = ?, error = ?, verified_at = ?, destroyed_at = ?
		WHERE run = ? AND recording = ?`
	args := []any{it.State, boolInt(it.Held), it.HoldReason, it.AudioFile, it.AudioSHA256, it.ManifestFile, it.ManifestSHA256,
		it.Error, optMicros(it.VerifiedAt), optMicros(it.DestroyedAt), it.Run, it.Recording}
	if from != "" {
		query += ` AND state = ?`
		args = append(args, from)
	}
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("catalog: item %s of contract end %s: %w", it.Recording, it.Run, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("catalog: item %s of contract end %s: %w", it.Recording, it.Run, err)
	}
	return n, nil
}

// ContractEndStrays returns up to limit ids, in id order, of client's
// recordings a contract end would return (stored or restricted) that are
// not items of run: stored after its item list was made, by a node still
// recording for the client or draining its spool.
func ContractEndStrays(ctx context.Context, q Querier, run, client string, limit int) ([]string, error) {
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT id FROM recordings r WHERE client = ? AND state IN (?, ?)
		AND NOT EXISTS (SELECT 1 FROM contract_end_items i WHERE i.run = ? AND i.recording = r.id)
		ORDER BY id LIMIT %d`, limit), client, StateStored, StateRestricted, run)
	if err != nil {
		return nil, fmt.Errorf("catalog: recordings of %s outside contract end %s: %w", client, run, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("catalog: recordings of %s outside contract end %s: %w", client, run, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ContractEndCounts returns how many items of run are in each state.
func ContractEndCounts(ctx context.Context, q Querier, run string) (map[string]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT state, COUNT(*) FROM contract_end_items WHERE run = ? GROUP BY state`, run)
	if err != nil {
		return nil, fmt.Errorf("catalog: counts of contract end %s: %w", run, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			s string
			n int
		)
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// ClientSummary is what the catalog holds of one client.
type ClientSummary struct {
	Recordings int   // stored or restricted
	WithAudio  int   // of which have audio
	Restricted int   // of which are restricted (stop of use)
	Held       int   // of which are under legal hold
	Bytes      int64 // sealed bytes of their audio
	First      *time.Time
	Last       *time.Time // start times
}

// SummariseClient counts the recordings of client that a contract end
// would return (stored or restricted).
func SummariseClient(ctx context.Context, q Querier, client string) (*ClientSummary, error) {
	var (
		s           ClientSummary
		first, last sql.NullInt64
	)
	err := q.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN object_key <> '' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN legal_hold = 1 THEN 1 ELSE 0 END), 0),
		CAST(COALESCE(SUM(size), 0) AS BIGINT), MIN(started_at), MAX(started_at)
		FROM recordings WHERE client = ? AND state IN (?, ?)`, StateRestricted, client, StateStored, StateRestricted).
		Scan(&s.Recordings, &s.WithAudio, &s.Restricted, &s.Held, &s.Bytes, &first, &last)
	if err != nil {
		return nil, fmt.Errorf("catalog: summary of client %s: %w", client, err)
	}
	if first.Valid {
		f, l := fromMicros(first.Int64), fromMicros(last.Int64)
		s.First, s.Last = &f, &l
	}
	return &s, nil
}

// ClientCounts returns how many recordings each client has (the
// recordings of no client are not counted).
func (c *Catalog) ClientCounts(ctx context.Context) (map[string]int, error) {
	return c.countBy(ctx, "clients", `SELECT client, COUNT(*) FROM recordings WHERE client <> '' GROUP BY client`)
}

// ClientOf returns the client of recording id, from its row or, once it
// is deleted, its tombstone; ok is false when neither exists.
func ClientOf(ctx context.Context, q Querier, id string) (client string, ok bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT client FROM recordings WHERE id = ?`, id).Scan(&client)
	if err == nil {
		return client, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", false, fmt.Errorf("catalog: client of %s: %w", id, err)
	}
	err = q.QueryRowContext(ctx, `SELECT client FROM tombstones WHERE id = ?`, id).Scan(&client)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("catalog: client of %s: %w", id, err)
	}
	return client, true, nil
}

// ClientPurposes returns the purposes of client's stored or restricted
// recordings (what a contract end returns), each with whether any of
// them is restricted, in name order.
func ClientPurposes(ctx context.Context, q Querier, client string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT purpose, MAX(CASE WHEN state = ? THEN 1 ELSE 0 END) FROM recordings
		WHERE client = ? AND state IN (?, ?) GROUP BY purpose ORDER BY purpose`, StateRestricted, client, StateStored, StateRestricted)
	if err != nil {
		return nil, fmt.Errorf("catalog: purposes of client %s: %w", client, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var p string
		var restricted int
		if err := rows.Scan(&p, &restricted); err != nil {
			return nil, fmt.Errorf("catalog: purposes of client %s: %w", client, err)
		}
		out[p] = restricted == 1
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: purposes of client %s: %w", client, err)
	}
	return out, nil
}
