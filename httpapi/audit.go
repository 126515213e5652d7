package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/recording"
)

// entryJSON is e as the API shows it: its detail as JSON when it is
// JSON, else as a JSON string.
func entryJSON(e audit.Entry) apiclient.AuditEntry {
	out := apiclient.AuditEntry{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: string(e.Action), Target: e.Target, Reason: e.Reason,
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
	if !a.allow(w, r, p, "", "") {
		return
	}
	limit := f.Limit
	f.Limit++
	entries, err := audit.List(r.Context(), a.o.Catalog.DB(), f)
	if err != nil {
		a.internal(w, "audit list", err)
		return
	}
	out := apiclient.AuditPage{Entries: []apiclient.AuditEntry{}}
	if len(entries) > limit {
		entries = entries[:limit]
		out.NextAfter = entries[limit-1].Seq
	}
	for _, e := range entries {
		out.Entries = append(out.Entries, entryJSON(e))
	}
	if err := a.record(r, p, audit.ActionAuditRead, "", "", map[string]any{"filters": filters, "results": len(out.Entries)}); err != nil {
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
	if !a.allow(w, r, p, "", "") {
		return
	}
	n, err := audit.Verify(r.Context(), a.o.Catalog.DB())
	intact := err == nil
	out := apiclient.AuditVerify{OK: intact, Entries: n}
	var broken *audit.BrokenError
	switch {
	case errors.As(err, &broken):
		out.BrokenAt, out.Why = broken.Seq, broken.Why
	case err != nil:
		a.internal(w, "audit verify", err)
		return
	}
	if intact {
		// The chain holds; the newest signed checkpoint tells whether it
		// is still the log that was signed (a log rewritten whole keeps a
		// valid chain).
		cps, err := recording.CheckCheckpoints(r.Context(), a.o.Catalog.DB(), a.o.Store, a.o.Keys.AuditKey(), true)
		if err != nil {
			a.internal(w, "audit checkpoint check", err)
			return
		}
		out.Checkpoints, out.CheckpointsMatched, out.NewestCheckpoint = cps.Checked, cps.Matched, cps.Newest
		if len(cps.Failures) > 0 {
			intact, out.OK, out.Why = false, false, cps.Failures[0]
		}
	}
	if err := a.record(r, p, audit.ActionAuditVerify, "", "", map[string]any{"ok": intact, "entries": n}); err != nil {
		a.internal(w, "audit of an audit verify", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
