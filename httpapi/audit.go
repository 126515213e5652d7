package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// auditEntryJSON is an audit entry as the API shows it: its detail as
// JSON when it is JSON.
type auditEntryJSON struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Target   string          `json:"target,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Detail   json.RawMessage `json:"detail,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

func entryJSON(e audit.Entry) auditEntryJSON {
	out := auditEntryJSON{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Reason: e.Reason,
		PrevHash: e.PrevHash, Hash: e.Hash}
	switch {
	case e.Detail == "":
	case json.Valid([]byte(e.Detail)):
		out.Detail = json.RawMessage(e.Detail)
	default:
		out.Detail, _ = json.Marshal(e.Detail)
	}
	return out
}

// auditor answers 403 (audited) unless p is an auditor not scoped to
// clients: the log covers every client's lines, so a client-scoped
// auditor reads its clients' part through the incident report.
func (a *API) auditor(w http.ResponseWriter, r *http.Request, p *Principal) bool {
	switch {
	case !p.Has(config.RoleAuditor):
		a.deny(w, r, p, http.StatusForbidden, "", "audit log without the auditor role", errors.New("the audit log is open to auditors"))
		return false
	case p.Scoped():
		a.deny(w, r, p, http.StatusForbidden, "", "audit log with a token scoped to clients",
			errors.New("the audit log covers every client: a client-scoped token reads its clients' part through GET /api/v1/incidents"))
		return false
	}
	return true
}

// auditList serves GET /api/v1/audit: entries in sequence order, filtered
// by actor, action, target and time, a page at a time (after = the last
// seq seen).
func (a *API) auditList(w http.ResponseWriter, r *http.Request, p *Principal) {
	q, err := params(r, "actor", "action", "target", "from", "to", "after", "limit")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	cfg := a.o.Config()
	loc := cfg.Retention.Location
	if loc == nil {
		loc = time.UTC
	}
	f := audit.Filter{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target")}
	filters := map[string]any{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "target": f.Target} {
		if len(v) > 200 {
			writeError(w, http.StatusBadRequest, errors.New(k+": longer than 200 characters"))
			return
		}
		if v != "" {
			filters[k] = v
		}
	}
	if v := q.Get("from"); v != "" {
		if f.From, err = parseTime("from", v, loc); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		filters["from"] = f.From
	}
	if v := q.Get("to"); v != "" {
		if f.To, err = parseTime("to", v, loc); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		filters["to"] = f.To
	}
	if v := q.Get("after"); v != "" {
		if f.AfterSeq, err = strconv.ParseInt(v, 10, 64); err != nil || f.AfterSeq < 0 {
			writeError(w, http.StatusBadRequest, errors.New("after: not an entry number (the seq of the last entry seen)"))
			return
		}
		filters["after"] = f.AfterSeq
	}
	if f.Limit, err = parseLimit(q.Get("limit"), 100, maxLimit); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !a.auditor(w, r, p) {
		return
	}
	limit := f.Limit
	f.Limit++
	entries, err := audit.List(r.Context(), a.o.Catalog.DB(), f)
	if err != nil {
		a.internal(w, "audit list", err)
		return
	}
	out := struct {
		Entries   []auditEntryJSON `json:"entries"`
		NextAfter int64            `json:"next_after,omitempty"`
	}{Entries: []auditEntryJSON{}}
	if len(entries) > limit {
		entries = entries[:limit]
		out.NextAfter = entries[limit-1].Seq
	}
	for _, e := range entries {
		out.Entries = append(out.Entries, entryJSON(e))
	}
	if err := a.record(r, p, "audit-read", "", "", map[string]any{"filters": filters, "results": len(out.Entries)}); err != nil {
		a.internal(w, "audit of an audit read", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// auditVerify serves GET /api/v1/audit/verify: the whole chain walked.
// A broken chain is an answer (200 with ok false and where), not an
// error of the request.
func (a *API) auditVerify(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !noQuery(w, r) {
		return
	}
	if !a.auditor(w, r, p) {
		return
	}
	n, err := audit.Verify(r.Context(), a.o.Catalog.DB())
	intact := err == nil
	out := map[string]any{"ok": intact, "entries": n}
	var broken *audit.BrokenError
	switch {
	case errors.As(err, &broken):
		out["broken_at"], out["why"] = broken.Seq, broken.Why
	case err != nil:
		a.internal(w, "audit verify", err)
		return
	}
	if err := a.record(r, p, "audit-verify", "", "", map[string]any{"ok": intact, "entries": n}); err != nil {
		a.internal(w, "audit of an audit verify", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
