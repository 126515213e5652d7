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

// Scope is what a searcher may see among the recordings of some clients:
// the purposes of Visible, and restricted recordings of the purposes of
// Restricted.
type Scope struct {
	Clients    []string // client ids; "" stands for the recordings of no client
	Visible    []string
	Restricted []string
}

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
	// Visible is every purpose the searcher may see among the recordings
	// of no client; it must not be empty unless Scopes is set.
	Visible []string
	// Restricted lists the purposes (a subset of Visible) whose
	// restricted recordings the searcher may see too.
	Restricted []string
	// Scopes, when set, replaces Visible and Restricted: what the
	// searcher may see among each set of clients' recordings.
	Scopes []Scope
	// Client keeps the recordings of one client ("" does not filter).
	Client string

	From, To    time.Time // started_at in [From, To)
	Purpose     string    // one of Visible
	Line        string
	Caller      string
	Decision    string
	AgentID     string // exactly the agent_id of the recordings
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
	if len(s.Scopes) == 0 && len(s.Visible) == 0 {
		return nil, fmt.Errorf("%w: no visible purpose", ErrBadSearch)
	}
	for _, sc := range s.Scopes {
		if len(sc.Clients) == 0 || len(sc.Visible) == 0 {
			return nil, fmt.Errorf("%w: a scope without clients or visible purposes", ErrBadSearch)
		}
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
	scopes := s.Scopes
	if len(scopes) == 0 {
		scopes = []Scope{{Clients: []string{""}, Visible: s.Visible, Restricted: s.Restricted}}
	}
	// Each scope's conditions go through expressions, as the purposes
	// always did, so that the planner keeps to the index of the page's
	// order.
	var ors []string
	for _, sc := range scopes {
		cond := in(`(client || '')`, sc.Clients) + ` AND ` + in(`(purpose || '')`, sc.Visible) + ` AND `
		if len(sc.Restricted) > 0 {
			cond += `(state = '` + StateStored + `' OR (state = '` + StateRestricted + `' AND ` + in(`(purpose || '')`, sc.Restricted) + `))`
		} else {
			cond += `state = '` + StateStored + `'`
		}
		ors = append(ors, `(`+cond+`)`)
	}
	where = append(where, `(`+strings.Join(ors, ` OR `)+`)`)
	for col, v := range map[string]string{"line": s.Line, "caller": s.Caller, "consent_decision": s.Decision, "client": s.Client, "agent_id": s.AgentID} {
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
