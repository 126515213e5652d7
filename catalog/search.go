package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrBadSearch is wrapped by the errors of a malformed Search.
var ErrBadSearch = errors.New("bad search")

// Cursor is where a page of search results ended: the last row's start
// time and id, the keys results are sorted by.
type Cursor struct {
	StartedAt time.Time
	ID        string
}

// Search selects recordings for someone allowed to see some purposes;
// zero fields do not filter. Only stored recordings are found, and
// restricted (stop of use) ones only of the purposes in Restricted.
type Search struct {
	// Visible is every purpose the searcher may see; it must not be empty.
	Visible []string
	// Restricted lists the purposes (a subset of Visible) whose
	// restricted recordings the searcher may see too.
	Restricted []string

	From, To    time.Time // started_at in [From, To)
	Purpose     string    // one of Visible
	Line        string
	Caller      string
	Decision    string
	MinDuration time.Duration
	Desc        bool    // newest first
	After       *Cursor // the page after this cursor
	Limit       int     // 1 to 1000
}

// Search returns one page of the recordings matching s, ordered by start
// time then id. Every filter the page is cut by has an index led by its
// column and followed by (started_at, id), so a page costs what it reads,
// not what is stored; the purposes a searcher may see are applied as a
// filter (through an expression, so the planner does not pick the purpose
// index and then sort every row of those purposes).
func (c *Catalog) Search(ctx context.Context, s Search) ([]*Recording, error) {
	if len(s.Visible) == 0 {
		return nil, fmt.Errorf("%w: no visible purpose", ErrBadSearch)
	}
	if s.Limit < 1 || s.Limit > 1000 {
		return nil, fmt.Errorf("%w: limit %d is not within 1-1000", ErrBadSearch, s.Limit)
	}
	q, args := searchQuery(s)
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: search: %w", err)
	}
	defer rows.Close()
	var out []*Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: search: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: search: %w", err)
	}
	return out, nil
}

// searchQuery is the SQL of s and its arguments.
func searchQuery(s Search) (string, []any) {
	var (
		where []string
		args  []any
	)
	in := func(expr string, vals []string) string {
		marks := strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")
		for _, v := range vals {
			args = append(args, v)
		}
		return expr + ` IN (` + marks + `)`
	}
	if s.Purpose != "" {
		where = append(where, `purpose = ?`)
		args = append(args, s.Purpose)
	}
	where = append(where, in(`(purpose || '')`, s.Visible))
	if len(s.Restricted) > 0 {
		where = append(where, `(state = '`+StateStored+`' OR (state = '`+StateRestricted+`' AND `+in(`(purpose || '')`, s.Restricted)+`))`)
	} else {
		where = append(where, `state = '`+StateStored+`'`)
	}
	for col, v := range map[string]string{"line": s.Line, "caller": s.Caller, "consent_decision": s.Decision} {
		if v != "" {
			where = append(where, col+` = ?`)
			args = append(args, v)
		}
	}
	if !s.From.IsZero() {
		where = append(where, `started_at >= ?`)
		args = append(args, micros(s.From))
	}
	if !s.To.IsZero() {
		where = append(where, `started_at < ?`)
		args = append(args, micros(s.To))
	}
	if s.MinDuration > 0 {
		where = append(where, `duration_ms >= ?`)
		args = append(args, s.MinDuration.Milliseconds())
	}
	order := `started_at, id`
	if s.After != nil {
		op := `>`
		if s.Desc {
			op = `<`
		}
		where = append(where, `(started_at, id) `+op+` (?, ?)`)
		args = append(args, micros(s.After.StartedAt), s.After.ID)
	}
	if s.Desc {
		order = `started_at DESC, id DESC`
	}
	return `SELECT ` + recordingCols + ` FROM recordings WHERE ` + strings.Join(where, ` AND `) +
		` ORDER BY ` + order + fmt.Sprintf(` LIMIT %d`, s.Limit), args
}
