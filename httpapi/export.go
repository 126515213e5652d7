package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/csvsafe"
)

// maxExport bounds the rows of one CSV export: a larger result is
// refused, naming its size, rather than cut short.
const maxExport = 10000

// exportParams are a search's, without its paging: an export holds the
// whole result.
var exportParams = slices.DeleteFunc(slices.Clone(searchParams), func(k string) bool { return k == "cursor" || k == "limit" || k == "count" })

// exportColumns are the CSV's columns, in order.
var exportColumns = []string{"id", "started_at", "answered_at", "ended_at", "duration_seconds", "line", "dialled", "purpose", "client",
	"caller", "decision", "agent_id", "end_reason", "sip_call_id", "has_audio", "legal_hold", "state", "retain_until"}

// export serves GET /api/v1/recordings/export: the whole result of a
// search (its filters, sort and tz) as CSV, callers masked as the token's
// roles require, every cell formula-neutralised, audited as an export
// with the ids it holds before a byte is sent.
func (a *API) export(w http.ResponseWriter, r *http.Request, p *Principal) {
	s, audited, pol, loc, ok := a.searchFor(w, r, p, exportParams)
	if !ok {
		return
	}
	n, err := a.o.Catalog.CountSearch(r.Context(), s, maxExport)
	if err != nil {
		a.internal(w, "export count", err)
		return
	}
	if n > maxExport {
		writeError(w, http.StatusBadRequest, fmt.Errorf("export: the search matches more than the %d recordings an export holds; narrow it (from, to, purpose…)", maxExport))
		return
	}
	var rows []apiclient.Recording
	ids := []string{}
	s.Limit = 1000
	for {
		page, err := a.o.Catalog.Search(r.Context(), s)
		if err != nil {
			a.internal(w, "export", err)
			return
		}
		for _, rec := range page {
			if len(rows) == maxExport {
				break // calls stored since the count: the export holds what was counted
			}
			rows = append(rows, inZone(summary(rec, grantOf(pol, p, rec)), loc))
			ids = append(ids, rec.ID)
		}
		if len(page) < s.Limit || len(rows) == maxExport {
			break
		}
		last := page[len(page)-1]
		s.After = &catalog.Cursor{Key: catalog.SortKey(s.Sort, last), StartedAt: last.StartedAt, ID: last.ID}
	}
	audited["format"], audited["results"], audited["ids"] = "csv", len(rows), ids
	if err := a.record(r, p, audit.ActionSearchExport, "", "", audited); err != nil {
		a.internal(w, "audit of an export", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="recordings.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csvsafe.NewWriter(w)
	cw.Write(exportColumns) //nolint:errcheck // the first error is Error's, below
	for _, rec := range rows {
		cw.Write(exportRow(rec)) //nolint:errcheck
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		a.o.Log.Debug("export cut short by the client") // the answer has begun: nothing else to tell it
	}
}

// exportRow is rec's CSV row; the writer defuses every cell
// (csvsafe.Cell: agent ids and SIP Call-IDs come from outside and may
// begin like a formula).
func exportRow(rec apiclient.Recording) []string {
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	row := []string{rec.ID, rec.StartedAt.Format(time.RFC3339), at(rec.AnsweredAt), at(rec.EndedAt),
		strconv.FormatFloat(rec.Duration, 'f', 3, 64), rec.Line, rec.Dialled, rec.Purpose, rec.Client,
		rec.Caller, rec.Decision, rec.AgentID, rec.EndReason, rec.SIPCallID, strconv.FormatBool(rec.HasAudio),
		strconv.FormatBool(rec.LegalHold), rec.State, rec.RetainUntil.Format(time.RFC3339)}
	return row
}
