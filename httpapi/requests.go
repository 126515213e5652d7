package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/rights"
)

// maxRequestBody bounds the JSON body of a data-subject request route.
const maxRequestBody = 1 << 20

// requestRoutes registers the data-subject request routes, privacy
// officers only (README.md lists them).
func (a *API) requestRoutes(authed func(string, handler)) {
	po := func(h handler) handler { return a.privacyOnly(h) }
	authed("POST /api/v1/requests", po(a.requestCreate))
	authed("GET /api/v1/requests", po(a.requestList))
	authed("GET /api/v1/requests/{id}", po(a.requestShow))
	authed("POST /api/v1/requests/{id}/disclose", po(a.requestDisclose))
	authed("POST /api/v1/requests/{id}/correct", po(a.requestCorrect))
	authed("POST /api/v1/requests/{id}/stop-use", po(a.requestAct(rights.KindStopUse)))
	authed("POST /api/v1/requests/{id}/resume-use", po(a.requestAct(rights.KindResumeUse)))
	authed("GET /api/v1/requests/{id}/erasure-plan", po(a.erasurePlan)) // erasure.go
	authed("POST /api/v1/requests/{id}/erase", po(a.erase))             // erasure.go
	authed("POST /api/v1/requests/{id}/stop-provision", po(a.requestAct(rights.KindStopProvision)))
	authed("POST /api/v1/requests/{id}/refuse", po(a.requestRefuse))
	authed("POST /api/v1/requests/provisions", po(a.provide))
	authed("GET /api/v1/requests/provisions", po(a.provisionList))
	authed("GET /api/v1/requests/pseudonymised", po(a.pseudonymised))
}

// privacyOnly checks the route's rule (privacy officers not scoped to
// clients; a refusal is 403, audited) before anything else, and audits
// each allowed call with its route.
func (a *API) privacyOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, p *Principal) {
		if !a.allow(w, r, p, "", "") {
			return
		}
		if err := a.record(r, p, audit.ActionRightsAPI, r.PathValue("id"), "", map[string]any{"route": r.Pattern}); err != nil {
			a.internal(w, "audit", err)
			return
		}
		h(w, r, p)
	}
}

// rights builds the service on the API's catalog, store and keys, with
// the purposes in force.
func (a *API) rights() *rights.Service {
	cfg := a.o.Config()
	s, _ := rights.New(rights.Options{Catalog: a.o.Catalog, Store: a.o.Store, Keys: a.o.Keys,
		Purpose: func(n string) string {
			if pu, ok := cfg.Purpose(n); ok {
				return pu.Description
			}
			return ""
		},
		Client: func(id string) (rights.Client, bool) {
			cl, ok := cfg.Client(id)
			if !ok {
				return rights.Client{}, false
			}
			return rights.Client{ID: cl.ID, Name: cl.Name, Contact: cl.Contact, Answer: cl.Disclosure == config.DisclosureAnswer}, true
		}})
	return s
}

// rightsError answers err with the status its kind calls for.
func (a *API) rightsError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, rights.ErrBadRequest):
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, catalog.ErrNoRequest), errors.Is(err, catalog.ErrNotFound):
		writeError(w, http.StatusNotFound, errors.New("no such request"))
	case errors.Is(err, rights.ErrAnswered), errors.Is(err, rights.ErrWrongKind), errors.Is(err, rights.ErrNotProvidable):
		writeError(w, http.StatusConflict, err)
	case errors.Is(err, rights.ErrRefused):
		writeError(w, http.StatusUnprocessableEntity, err)
	default:
		a.internal(w, "data-subject request", err)
	}
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", rights.ErrBadRequest, err)
	}
	return nil
}

// toJSON is r as the API shows it.
func toJSON(r *catalog.Request) apiclient.Request {
	return apiclient.Request{ID: r.ID, Kind: r.Kind, Callers: r.Callers, Verification: r.Verification, Requester: r.Requester,
		ReceivedAt: r.ReceivedAt, AnsweredAt: r.AnsweredAt, Outcome: r.Outcome, Result: r.Result, Operator: r.Operator}
}

func (a *API) requestCreate(w http.ResponseWriter, r *http.Request, p *Principal) {
	var n rights.NewRequest
	if err := decodeBody(r, &n); err != nil {
		a.rightsError(w, err)
		return
	}
	req, err := a.rights().Create(r.Context(), p.Name, n)
	if err != nil {
		a.rightsError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, toJSON(req))
}

func (a *API) requestList(w http.ResponseWriter, r *http.Request, p *Principal) {
	rs, err := a.rights().List(r.Context())
	if err != nil {
		a.rightsError(w, err)
		return
	}
	out := []apiclient.Request{}
	for _, q := range rs {
		out = append(out, toJSON(q))
	}
	writeJSON(w, http.StatusOK, apiclient.RequestList{Requests: out})
}

func (a *API) requestShow(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	q, err := a.rights().Get(r.Context(), id)
	if err != nil {
		a.rightsError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toJSON(q))
}

// lazyZip sets the ZIP headers at the first byte, so an error found
// before any is answered as JSON.
type lazyZip struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (z *lazyZip) Write(b []byte) (int, error) {
	if !z.started {
		z.started = true
		z.w.Header().Set("Content-Type", "application/zip")
		z.w.Header().Set("Content-Disposition", `attachment; filename="`+z.name+`"`)
		z.w.WriteHeader(http.StatusOK)
	}
	return z.w.Write(b)
}

func (a *API) requestDisclose(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	z := &lazyZip{w: w, name: "disclosure-" + id + ".zip"}
	// The purposes' listeners hold as for reading; a client's recordings
	// are the client's disclosure setting's to decide (rights withholds
	// them, or answers for the client), not the token's scope.
	readable, refused := a.readAccess(p)
	allow := func(rec *catalog.Recording) (bool, string) {
		r := *rec
		r.Client = ""
		ok, why := readable(&r)
		if !ok {
			*refused = rec
		}
		return ok, why
	}
	if _, err := a.rights().Disclose(r.Context(), p.Name, id, z, allow); err != nil {
		if z.started {
			a.log.Error("disclosure cut short", zap.Error(err))
			return
		}
		if errors.Is(err, rights.ErrNotAllowed) && *refused != nil {
			a.deny(w, r, p, http.StatusForbidden, (*refused).ID, err.Error(), err)
			return
		}
		a.rightsError(w, err)
	}
}

func (a *API) requestCorrect(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var c rights.Correction
	if err := decodeBody(r, &c); err != nil {
		a.rightsError(w, err)
		return
	}
	out, err := a.rights().Correct(r.Context(), p.Name, id, c)
	if err != nil {
		a.rightsError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// requestAct answers the requests whose answer needs no body.
func (a *API) requestAct(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request, p *Principal) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		s := a.rights()
		var (
			out any
			err error
		)
		switch kind {
		case rights.KindStopUse:
			out, err = s.StopUse(r.Context(), p.Name, id)
		case rights.KindResumeUse:
			out, err = s.ResumeUse(r.Context(), p.Name, id)
		case rights.KindStopProvision:
			err = s.StopProvision(r.Context(), p.Name, id)
			out = apiclient.Outcome{Outcome: rights.OutcomeAnswered}
		}
		if err != nil {
			a.rightsError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (a *API) requestRefuse(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var body apiclient.Refusal
	if err := decodeBody(r, &body); err != nil {
		a.rightsError(w, err)
		return
	}
	// The reason goes into the audit entry: held to a reason's rules (a
	// blank one is rights' to refuse, naming the refusal).
	reason := strings.TrimSpace(body.Reason)
	if reason != "" {
		var err error
		if reason, err = checkReason(reason); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
	}
	if err := a.rights().Refuse(r.Context(), p.Name, id, reason); err != nil {
		a.rightsError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiclient.Outcome{Outcome: rights.OutcomeRefused})
}

// readAccess is the same rule as reading, for an export that hands
// recordings out (a provision, a disclosure): allow grants what p could
// listen to (not a purpose closed to its roles, nor another client's
// line), and refused then holds the recording it refused.
func (a *API) readAccess(p *Principal) (allow func(*catalog.Recording) (bool, string), refused **catalog.Recording) {
	pol := policyOf(a.o.Config())
	var ref *catalog.Recording
	return func(rec *catalog.Recording) (bool, string) {
		g := grantOf(pol, p, rec)
		if !g.OK {
			ref = rec
		}
		return g.OK, g.Why
	}, &ref
}

func (a *API) provide(w http.ResponseWriter, r *http.Request, p *Principal) {
	var pr rights.ProvisionRequest
	if err := decodeBody(r, &pr); err != nil {
		a.rightsError(w, err)
		return
	}
	z := &lazyZip{w: w, name: "provision.zip"}
	allow, refused := a.readAccess(p)
	if _, err := a.rights().Provide(r.Context(), p.Name, pr, z, allow); err != nil {
		if z.started {
			a.log.Error("provision export cut short", zap.Error(err))
			return
		}
		if errors.Is(err, rights.ErrNotAllowed) && *refused != nil {
			a.deny(w, r, p, http.StatusForbidden, (*refused).ID, err.Error(), err)
			return
		}
		a.rightsError(w, err)
	}
}

func (a *API) provisionList(w http.ResponseWriter, r *http.Request, p *Principal) {
	q, err := params(r, "format")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		writeError(w, http.StatusBadRequest, errors.New("format: csv or json"))
		return
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	if err := a.rights().ExportProvisions(r.Context(), w, format); err != nil {
		a.log.Error("provision records export", zap.Error(err))
	}
}

func (a *API) pseudonymised(w http.ResponseWriter, r *http.Request, p *Principal) {
	q, err := params(r, "format", "from", "to")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		writeError(w, http.StatusBadRequest, errors.New("format: csv or json"))
		return
	}
	var from, to time.Time
	for name, t := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := q.Get(name); v != "" {
			if *t, err = time.Parse(time.RFC3339, v); err != nil {
				writeError(w, http.StatusBadRequest, fmt.Errorf("%s: not RFC 3339", name))
				return
			}
		}
	}
	allow, _ := a.readAccess(p)
	keyID, key, err := a.o.Config().PseudonymKey()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	if _, err := a.rights().Pseudonymise(r.Context(), w, format, rights.PseudonymKey{ID: keyID, Key: key}, from, to, p.Name, allow); err != nil {
		a.log.Error("pseudonymised export", zap.Error(err))
	}
}
