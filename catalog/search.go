package catalog

import (
	"context"
	"encoding/json"
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

// Cursor is where a page of search results ended: the last row's sort
// key (for a sort other than by start time), start time and id, the
// keys results are sorted by.
type Cursor struct {
	Key       any // int64 or string, of the Search's Sort column (SortKey)
	StartedAt time.Time
	ID        string
}

// Hold filters of Search.
const (
	Held    = "held"
	NotHeld = "not-held"
)

// sortCols are the columns a search may be sorted by, besides its start
// time, and whether their values are numbers. end_reason is read from
// the manifest (it has no column): sorting or filtering by it reads the
// rows the other filters leave.
var sortCols = map[string]bool{
	"duration": true, "legal_hold": true, "has_audio": true,
	"line": false, "purpose": false, "decision": false, "agent_id": false, "caller": false, "end_reason": false, "state": false,
}

// SortKeys lists the values of Search.Sort besides "" and "started_at".
func SortKeys() []string {
	return []string{"duration", "line", "purpose", "caller", "decision", "agent_id", "has_audio", "legal_hold", "end_reason", "state"}
}

// IsSortKey reports whether k is a Search.Sort value.
func IsSortKey(k string) bool {
	_, ok := sortCols[k]
	return ok || k == "" || k == "started_at"
}

// sortExpr is the SQL of sort key k.
func sortExpr(k string, pg bool) string {
	switch k {
	case "duration":
		return `duration_ms`
	case "decision":
		return `consent_decision`
	case "end_reason":
		return endReasonExpr(pg)
	case "has_audio":
		return `(CASE WHEN object_key = '' THEN 0 ELSE 1 END)`
	}
	return k
}

// endReasonExpr reads the manifest's end_reason.
func endReasonExpr(pg bool) string {
	if pg {
		return `COALESCE(CAST(manifest AS jsonb) ->> 'end_reason', '')`
	}
	return `COALESCE(CASE WHEN json_valid(manifest) THEN json_extract(manifest, '$.end_reason') END, '')`
}

// SortKey is r's value of sort key k, for the Cursor after r.
func SortKey(k string, r *Recording) any {
	switch k {
	case "duration":
		return r.Duration.Milliseconds()
	case "legal_hold":
		if r.LegalHold {
			return int64(1)
		}
		return int64(0)
	case "has_audio":
		if r.ObjectKey != "" {
			return int64(1)
		}
		return int64(0)
	case "line":
		return r.Line
	case "purpose":
		return r.Purpose
	case "decision":
		return r.Decision
	case "agent_id":
		return r.AgentID
	case "caller":
		return r.Caller
	case "state":
		return r.State
	case "end_reason":
		return EndReason(r)
	}
	return nil
}

// IsNumericSortKey reports whether sort key k orders numbers.
func IsNumericSortKey(k string) bool { return sortCols[k] }

// EndReason is why r's call ended, as its manifest says ("" when it
// does not).
func EndReason(r *Recording) string {
	var m struct {
		EndReason string `json:"end_reason"`
	}
	if json.Unmarshal(r.Manifest, &m) != nil {
		return ""
	}
	return m.EndReason
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
	MaxDuration time.Duration // > 0: at most this long
	Hold        string        // Held, NotHeld or "" (either)
	EndReason   string        // exactly the manifest's end_reason
	SIPCallID   string        // exactly the caller leg's SIP Call-ID
	// Sort is the column the page is ordered by, then by start time and
	// id: "" or "started_at" (start time only), or one of SortKeys.
	Sort  string
	Desc  bool    // descending (newest first)
	After *Cursor // the page after this cursor
	Limit int     // 1 to 1000

	pg bool // the SQL is PostgreSQL's (set by Search and Count)
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
	if err := s.check(); err != nil {
		return nil, err
	}
	s.pg = c.driver == Postgres
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

// check refuses a sort or a hold filter Search does not know, and a
// cursor that does not fit the sort.
func (s Search) check() error {
	if !IsSortKey(s.Sort) {
		return fmt.Errorf("%w: sort %q is not one of started_at, %s", ErrBadSearch, s.Sort, strings.Join(SortKeys(), ", "))
	}
	if s.Hold != "" && s.Hold != Held && s.Hold != NotHeld {
		return fmt.Errorf("%w: hold %q is not %s or %s", ErrBadSearch, s.Hold, Held, NotHeld)
	}
	if s.After != nil && s.Sort != "" && s.Sort != "started_at" {
		switch s.After.Key.(type) {
		case int64:
			if !sortCols[s.Sort] {
				return fmt.Errorf("%w: a cursor of numbers for sort %s", ErrBadSearch, s.Sort)
			}
		case string:
			if sortCols[s.Sort] {
				return fmt.Errorf("%w: a cursor of text for sort %s", ErrBadSearch, s.Sort)
			}
		default:
			return fmt.Errorf("%w: a cursor without the key of sort %s", ErrBadSearch, s.Sort)
		}
	}
	return nil
}

// CountSearch returns how many recordings match s, whatever its page
// (After and Limit are ignored), counting no further than upTo + 1: a
// broad search over a large catalog costs what upTo rows cost, and a
// result of more than upTo says so by its count.
func (c *Catalog) CountSearch(ctx context.Context, s Search, upTo int) (int, error) {
	if len(s.Scopes) == 0 && len(s.Visible) == 0 {
		return 0, fmt.Errorf("%w: no visible purpose", ErrBadSearch)
	}
	if err := s.check(); err != nil {
		return 0, err
	}
	s.pg, s.After = c.driver == Postgres, nil
	where, args := searchWhere(s)
	var n int
	q := `SELECT COUNT(*) FROM (SELECT 1 FROM recordings WHERE ` + where + fmt.Sprintf(` LIMIT %d) AS matched`, upTo+1)
	if err := c.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog: count: %w", err)
	}
	return n, nil
}

// searchQuery is the SQL of s and its arguments.
func searchQuery(s Search) (string, []any) {
	where, args := searchWhere(s)
	dir := ``
	if s.Desc {
		dir = ` DESC`
	}
	order := `started_at` + dir + `, id` + dir
	if s.Sort != "" && s.Sort != "started_at" {
		order = sortExpr(s.Sort, s.pg) + dir + `, ` + order
	}
	return `SELECT ` + recordingCols + ` FROM recordings WHERE ` + where +
		` ORDER BY ` + order + fmt.Sprintf(` LIMIT %d`, s.Limit), args
}

// searchWhere is the condition of s and its arguments.
func searchWhere(s Search) (string, []any) {
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
	if s.MaxDuration > 0 {
		where = append(where, `duration_ms <= ?`)
		args = append(args, s.MaxDuration.Milliseconds())
	}
	switch s.Hold {
	case Held:
		where = append(where, `legal_hold = 1`)
	case NotHeld:
		where = append(where, `legal_hold = 0`)
	}
	if s.SIPCallID != "" {
		where = append(where, `sip_call_id = ?`)
		args = append(args, s.SIPCallID)
	}
	if s.EndReason != "" {
		where = append(where, endReasonExpr(s.pg)+` = ?`)
		args = append(args, s.EndReason)
	}
	if s.After != nil {
		op := `>`
		if s.Desc {
			op = `<`
		}
		if s.Sort != "" && s.Sort != "started_at" {
			where = append(where, `(`+sortExpr(s.Sort, s.pg)+`, started_at, id) `+op+` (?, ?, ?)`)
			args = append(args, s.After.Key, micros(s.After.StartedAt), s.After.ID)
		} else {
			where = append(where, `(started_at, id) `+op+` (?, ?)`)
			args = append(args, micros(s.After.StartedAt), s.After.ID)
		}
	}
	return strings.Join(where, ` AND `), args
}
