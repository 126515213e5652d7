package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/incident"
)

// incidentRoutes registers the incident report, for privacy officers and
// auditors.
func (a *API) incidentRoutes(authed func(string, handler)) {
	authed("GET /api/v1/incidents", a.incidentReport)
}

// incidentReport serves GET /api/v1/incidents?actor=&client=&from=&to=
// &format=json|csv. An unscoped token's report covers every line (the
// operator's reporting duty spans all of them, clients' included); a
// client-scoped token's only its clients' recordings. Recordings of
// purposes the token's roles may not read are left out and counted
// (recordings_withheld). Caller numbers are in clear for privacy
// officers, masked for auditors.
func (a *API) incidentReport(w http.ResponseWriter, r *http.Request, p *Principal) {
	q, err := params(r, "actor", "client", "from", "to", "format")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	cfg := a.o.Config()
	loc := cfg.Retention.Location
	if loc == nil {
		loc = time.UTC
	}
	iq := incident.Query{Actor: q.Get("actor"), Client: q.Get("client")}
	filters := map[string]any{}
	if len(iq.Actor) > 200 {
		writeError(w, http.StatusBadRequest, errors.New("actor: longer than 200 characters"))
		return
	}
	if iq.Actor != "" {
		filters["actor"] = iq.Actor
	}
	if iq.Client != "" {
		if _, ok := cfg.Client(iq.Client); !ok {
			writeError(w, http.StatusBadRequest, fmt.Errorf("client: %q is not a configured client", iq.Client))
			return
		}
		filters["client"] = iq.Client
	}
	for name, t := range map[string]*time.Time{"from": &iq.From, "to": &iq.To} {
		if v := q.Get(name); v != "" {
			if *t, err = parseTime(name, v, loc); err != nil {
				writeError(w, http.StatusBadRequest, err)
				return
			}
			filters[name] = *t
		}
	}
	format := q.Get("format")
	switch format {
	case "":
		format = "json"
	case "json", "csv":
	default:
		writeError(w, http.StatusBadRequest, errors.New("format: json or csv"))
		return
	}
	if iq.Actor == "" && iq.Client == "" && iq.From.IsZero() && iq.To.IsZero() {
		writeError(w, http.StatusBadRequest, errors.New("give actor, client, from or to (a token's name, a client, a time window)"))
		return
	}
	if !iq.From.IsZero() && !iq.To.IsZero() && !iq.From.Before(iq.To) {
		writeError(w, http.StatusBadRequest, errors.New("from: must be before to"))
		return
	}
	if !a.allow(w, r, p, "", "") {
		return
	}
	pol := policyOf(cfg)
	view := pol.Incident(p.who())
	iq.Clear = view.Clear
	iq.ClearPurpose = func(client, purpose string) bool { return pol.ClearCaller(p.who(), client, purpose) }
	// As a read and the pseudonymised export: a recording of a purpose
	// naming none of the token's roles among its listeners is left out,
	// and counted.
	iq.Reads = func(client, purpose string) bool { return pol.Returns(p.who(), client, purpose, false) == "" }
	if !view.All {
		if iq.Client != "" && p.who().OutOfView(iq.Client) {
			a.deny(w, r, p, http.StatusForbidden, "client:"+iq.Client, fmt.Sprintf("incident report on client %q; the token is scoped to clients %v", iq.Client, p.Clients),
				fmt.Errorf("client: %q is not open to this token", iq.Client))
			return
		}
		// A scoped token acts on each client's data through the roles
		// that client's limits allow: the report covers the clients
		// where one of them reads it, in clear only where one is
		// privacy-officer.
		iq.View, iq.ClearOnly = view.View, view.ClearOnly
		if len(iq.View) == 0 || (iq.Client != "" && !slices.Contains(iq.View, iq.Client)) {
			a.deny(w, r, p, http.StatusForbidden, "client:"+iq.Client, "incident report: "+strings.Join(view.Refused, "; "),
				errors.New("incident reports are open to privacy officers and auditors: the client's limits allow this token neither role"))
			return
		}
	}
	rep, err := incident.Build(r.Context(), a.o.Catalog, iq, time.Now())
	if err != nil {
		a.internal(w, "incident report", err)
		return
	}
	filters["format"] = format
	if err := a.record(r, p, audit.ActionIncidentReport, "", "", map[string]any{"filters": filters, "recordings": len(rep.Records),
		"ids": rep.IDs(), "callers": len(rep.Callers), "entries": rep.Entries, "withheld": rep.Withheld}); err != nil {
		a.internal(w, "audit of an incident report", err)
		return
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="incident-report.csv"`)
		w.WriteHeader(http.StatusOK)
		rep.WriteCSV(w)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	rep.WriteJSON(w)
}
