package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/csvsafe"
)

// ErrBadQuery is wrapped by the errors of a query that selects nothing
// usable.
var ErrBadQuery = errors.New("bad incident query")

// Query selects what a report covers; the given fields narrow it
// together, and at least one of Actor, Client, From and To is needed.
type Query struct {
	Actor    string    `json:"actor,omitempty"`  // the audit log's actor: a token's name, "retention", "kirokud"…
	Client   string    `json:"client,omitempty"` // only recordings of this client
	From, To time.Time `json:"-"`                // entries at [From, To)
	// View, when not nil, keeps the report to recordings of these
	// clients (a client-scoped reader); entries about no recording are
	// then left out too.
	View []string `json:"-"`
	// Clear shows caller numbers in clear (a privacy officer); otherwise
	// they are masked.
	Clear bool `json:"-"`
	// ClearOnly, when not nil, narrows Clear to recordings of these
	// clients: a client-scoped reader is a privacy officer only for the
	// clients whose limits allow that role.
	ClearOnly []string `json:"-"`
	// ClearPurpose, when not nil, narrows Clear further to the
	// recordings of the purposes it allows (those naming the reader's
	// privacy-officer role among their listeners): a number is shown in
	// clear only where reading the recording would show it.
	ClearPurpose func(client, purpose string) bool `json:"-"`
	// Reads, when not nil, keeps the report to the recordings of the
	// purposes the reader may read (one of its roles among the
	// purpose's listeners): the others are left out — their ids, rows
	// and refused attempts — and only counted (Report.Withheld), so an
	// investigation still knows they were touched.
	Reads func(client, purpose string) bool `json:"-"`
}

// reads reports whether q covers client's recordings of purpose.
func (q Query) reads(client, purpose string) bool {
	return q.Reads == nil || q.Reads(client, purpose)
}

// clearFor reports whether q shows the callers of client's recordings
// of purpose in clear.
func (q Query) clearFor(client, purpose string) bool {
	return q.Clear && (q.ClearOnly == nil || slices.Contains(q.ClearOnly, client)) &&
		(q.ClearPurpose == nil || q.ClearPurpose(client, purpose))
}

// Kinds of what an entry did to a recording: the audit log's own
// classification of its actions.
const (
	KindAccessed = string(audit.KindAccessed)
	KindExported = string(audit.KindExported)
	KindChanged  = string(audit.KindChanged)
	KindDenied   = string(audit.KindDenied) // refused: the recording was not reached
)

// IDs returns the ids of the recordings rep lists, in order: an
// incident report's own audit entry keeps them, as a search's does.
func (rep *Report) IDs() []string {
	out := make([]string, 0, len(rep.Records))
	for _, r := range rep.Records {
		out = append(out, r.ID)
	}
	return out
}

// kindOf classifies an audit action done to a recording; an action no
// longer written (an old entry) counts as an access.
func kindOf(action audit.Action) string {
	if k := action.Kind(); k != "" {
		return string(k)
	}
	return KindAccessed
}

// Entry is one audit entry as a report shows it.
type Entry struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Kind   string    `json:"kind,omitempty"`
	Target string    `json:"target,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// Recording is one recording a report covers, with every entry about it.
type Recording struct {
	ID      string `json:"id"`
	Client  string `json:"client,omitempty"`
	Purpose string `json:"purpose,omitempty"`
	Line    string `json:"line,omitempty"`
	// AgentID is who took the call as the agent platform named them
	// (catalog agent_id); "" when it did not, and once deleted.
	AgentID   string     `json:"agent_id,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Caller    string     `json:"caller,omitempty"` // "" once deleted: the number is no longer held
	State     string     `json:"state"`            // stored, restricted, … or deleted
	Deleted   string     `json:"deleted,omitempty"`
	Accessed  bool       `json:"accessed"`
	Exported  bool       `json:"exported"`
	Changed   bool       `json:"changed"`
	Entries   []Entry    `json:"entries"`
}

// Report is an incident report.
type Report struct {
	Query     Query        `json:"query"`
	From      *time.Time   `json:"from,omitempty"`
	To        *time.Time   `json:"to,omitempty"`
	Generated time.Time    `json:"generated_at"`
	Entries   int          `json:"audit_entries"` // entries read that matched the query
	FirstSeq  int64        `json:"first_seq,omitempty"`
	LastSeq   int64        `json:"last_seq,omitempty"`
	Records   []*Recording `json:"recordings"`
	// Callers are the distinct caller numbers of the recordings (masked
	// unless the query asked for them in clear).
	Callers []string `json:"callers"`
	// CallersUnknown counts recordings deleted since: their caller
	// numbers are no longer held by Kiroku.
	CallersUnknown int `json:"callers_unknown"`
	// Withheld counts the recordings the query matched but left out:
	// of purposes the reader may not read (Query.Reads). Their ids,
	// rows, callers and entries are not in the report.
	Withheld int `json:"recordings_withheld"`
	// Denied are refused attempts on recordings (not reached).
	Denied []Entry `json:"denied"`
	// Other are matching entries about no recording (audit reads,
	// exports of metadata, contract ends…).
	Other []Entry `json:"other"`
}

// info is what the catalog holds of one id.
type info struct {
	ok  bool // a recording (row or tombstone)
	rec *Recording
	raw string // caller in clear
}

// Build reads the audit log (in pages, through its actor and time
// indexes when the query gives them) and the catalog, and returns the
// report of q.
func Build(ctx context.Context, cat *catalog.Catalog, q Query, now time.Time) (*Report, error) {
	if q.Actor == "" && q.Client == "" && q.From.IsZero() && q.To.IsZero() {
		return nil, fmt.Errorf("%w: give an actor, a client or a time window", ErrBadQuery)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return nil, fmt.Errorf("%w: from must be before to", ErrBadQuery)
	}
	rep := &Report{Query: q, Generated: now.UTC(), Records: []*Recording{}, Callers: []string{}, Denied: []Entry{}, Other: []Entry{}}
	if !q.From.IsZero() {
		f := q.From.UTC()
		rep.From = &f
	}
	if !q.To.IsZero() {
		t := q.To.UTC()
		rep.To = &t
	}
	cache := map[string]*info{}
	byID := map[string]*Recording{}
	withheld := map[string]bool{}
	after := int64(0)
	for {
		es, err := audit.List(ctx, cat.DB(), audit.Filter{Actor: q.Actor, From: q.From, To: q.To, AfterSeq: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if err := rep.add(ctx, cat, q, e, cache, byID, withheld); err != nil {
				return nil, err
			}
		}
		if len(es) < 1000 {
			break
		}
		after = es[len(es)-1].Seq
	}
	rep.Withheld = len(withheld)
	callers := map[string]bool{}
	for _, r := range rep.Records {
		in := cache[r.ID]
		switch {
		case in.raw != "":
			c := in.raw
			if !q.clearFor(r.Client, r.Purpose) {
				c = config.MaskNumber(c)
			}
			callers[c] = true
		case r.Deleted != "":
			rep.CallersUnknown++
		}
	}
	for c := range callers {
		rep.Callers = append(rep.Callers, c)
	}
	sort.Strings(rep.Callers)
	sort.Slice(rep.Records, func(i, j int) bool { return rep.Records[i].ID < rep.Records[j].ID })
	return rep, nil
}

// add files entry e under the recordings it concerns; the ids of those
// q does not read go into withheld instead.
func (rep *Report) add(ctx context.Context, cat *catalog.Catalog, q Query, e audit.Entry, cache map[string]*info, byID map[string]*Recording, withheld map[string]bool) error {
	ids := []string{}
	if e.Target != "" {
		ids = append(ids, e.Target)
	}
	var detail struct {
		IDs    []string `json:"ids"`
		Client string   `json:"client"`
	}
	_ = json.Unmarshal([]byte(e.Detail), &detail)
	kind := kindOf(e.Action)
	if e.Action.ListsRecordings() {
		ids = append(ids, detail.IDs...)
		kind = KindAccessed // listed in the results
	}
	entry := Entry{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: string(e.Action), Kind: kind, Reason: e.Reason}
	matched, recordingEntry := false, false
	for _, id := range ids {
		in, err := lookup(ctx, cat, id, q, cache)
		if err != nil {
			return err
		}
		if !in.ok {
			continue
		}
		recordingEntry = true
		if !rep.keeps(q, in.rec.Client) {
			continue
		}
		if !q.reads(in.rec.Client, in.rec.Purpose) {
			withheld[id] = true
			continue
		}
		matched = true
		if kind == KindDenied {
			d := entry
			d.Target = id
			rep.Denied = append(rep.Denied, d)
			continue
		}
		r := byID[id]
		if r == nil {
			r = in.rec
			byID[id] = r
			rep.Records = append(rep.Records, r)
		}
		r.Entries = append(r.Entries, entry)
		switch kind {
		case KindExported:
			r.Exported = true
		case KindChanged:
			r.Changed = true
		default:
			r.Accessed = true
		}
	}
	if !recordingEntry && q.View == nil && (q.Client == "" || detail.Client == q.Client || e.Target == "client:"+q.Client) {
		o := entry
		o.Target = e.Target
		rep.Other = append(rep.Other, o)
		matched = true
	}
	if matched {
		rep.Entries++
		if rep.FirstSeq == 0 {
			rep.FirstSeq = e.Seq
		}
		rep.LastSeq = e.Seq
	}
	return nil
}

// keeps reports whether a recording of client is within q.
func (rep *Report) keeps(q Query, client string) bool {
	if q.Client != "" && client != q.Client {
		return false
	}
	return q.View == nil || (client != "" && slices.Contains(q.View, client))
}

// lookup finds id among the recordings, then the tombstones.
func lookup(ctx context.Context, cat *catalog.Catalog, id string, q Query, cache map[string]*info) (*info, error) {
	if in, ok := cache[id]; ok {
		return in, nil
	}
	in := &info{}
	rec, err := cat.Get(ctx, id)
	switch {
	case err == nil:
		started := rec.StartedAt
		in.ok, in.raw = true, rec.Caller
		in.rec = &Recording{ID: id, Client: rec.Client, Purpose: rec.Purpose, Line: rec.Line, AgentID: rec.AgentID,
			StartedAt: &started, State: rec.State}
		in.rec.Caller = rec.Caller
		if !q.clearFor(rec.Client, rec.Purpose) {
			in.rec.Caller = config.MaskNumber(rec.Caller)
		}
	case errors.Is(err, catalog.ErrNotFound):
		t, err := cat.GetTombstone(ctx, id)
		switch {
		case err == nil:
			started := t.StartedAt
			in.ok = true
			in.rec = &Recording{ID: id, Client: t.Client, Purpose: t.Purpose, Line: t.Line, StartedAt: &started, State: "deleted",
				Deleted: t.DeletedAt.Format(time.RFC3339) + " (" + t.Reason + ")"}
		case !errors.Is(err, catalog.ErrNotFound):
			return nil, err
		}
	default:
		return nil, err
	}
	cache[id] = in
	return in, nil
}

// WriteJSON writes rep as JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteCSV writes rep as CSV: '#' lines with the query, the figures (the
// withheld recordings' count among them) and each caller number, then one row per recording and entry (refused
// attempts too, kind "denied").
//
// Cells and '#' lines come from free text (reasons, actors' names, the
// agent id an agent platform sent, the caller's From user part): they are
// written through csvsafe, so a spreadsheet opening the file shows them
// rather than running them as formulas (CSV injection) — a caller
// "x,=1+2" reads "x =1+2" on its '#' line.
func (rep *Report) WriteCSV(w io.Writer) error {
	q := rep.Query
	cw := csvsafe.NewWriter(w)
	cw.Comment("kiroku incident report, generated " + rep.Generated.Format(time.RFC3339))
	cw.Comment("query: actor=" + csvsafe.Comment(q.Actor) + " client=" + csvsafe.Comment(q.Client) + " from=" + timeOr(rep.From) + " to=" + timeOr(rep.To))
	cw.Comment(fmt.Sprintf("recordings: %d; audit entries: %d (seq %d to %d); callers: %d; recordings deleted since (numbers no longer held): %d; denied attempts: %d",
		len(rep.Records), rep.Entries, rep.FirstSeq, rep.LastSeq, len(rep.Callers), rep.CallersUnknown, len(rep.Denied)))
	cw.Comment(fmt.Sprintf("recordings withheld (of purposes not open to the reader's roles; touched, not listed): %d", rep.Withheld))
	for _, c := range rep.Callers {
		cw.Comment("caller:", c)
	}
	cw.Write([]string{"recording", "client", "purpose", "line", "started_at", "caller", "state", "seq", "at", "actor", "action", "kind", "reason", "agent_id"})
	for _, r := range rep.Records {
		started := ""
		if r.StartedAt != nil {
			started = r.StartedAt.Format(time.RFC3339)
		}
		for _, e := range r.Entries {
			cw.Write([]string{r.ID, r.Client, r.Purpose, r.Line, started, r.Caller, r.State, strconv.FormatInt(e.Seq, 10),
				e.At.Format(time.RFC3339Nano), e.Actor, e.Action, e.Kind, e.Reason, r.AgentID})
		}
	}
	for _, e := range rep.Denied {
		cw.Write([]string{e.Target, "", "", "", "", "", "", strconv.FormatInt(e.Seq, 10), e.At.Format(time.RFC3339Nano), e.Actor, e.Action, e.Kind, e.Reason, ""})
	}
	cw.Flush()
	return cw.Error()
}

func timeOr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339)
}
