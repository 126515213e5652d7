package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/contract"
)

// contractRoutes registers the contract-end routes (README.md lists
// them): admins plan and run them; admins, privacy officers and auditors
// read runs and certificates.
func (a *API) contractRoutes(authed func(string, handler)) {
	authed("GET /api/v1/clients/{client}/contract-end", a.contractPlan)
	authed("POST /api/v1/clients/{client}/contract-end", a.contractRun)
	authed("POST /api/v1/contract-ends/{id}/confirm", a.contractConfirm)
	authed("GET /api/v1/contract-ends", a.contractList)
	authed("GET /api/v1/contract-ends/{id}", a.contractShow)
	authed("GET /api/v1/contract-ends/{id}/certificate", a.contractCertificate)
}

// validClientID reports whether s has the shape of a client id.
func validClientID(s string) bool {
	return s != "" && len(s) <= 63 && s[0] != '-' && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// contractClient returns the client id names for p, or answers: 403
// (audited) when the route's rule refuses p, 404 (audited with the real
// cause) for a client not configured or not in a scoped token's view,
// 403 when the client's limits leave p none of the route's roles.
func (a *API) contractClient(w http.ResponseWriter, r *http.Request, p *Principal, id string) (contract.Client, bool) {
	if !a.allow(w, r, p, "client:"+id, "") {
		return contract.Client{}, false
	}
	roles := rule(r).Roles
	cfg := a.o.Config()
	cl, ok := cfg.Client(id)
	switch {
	case !ok:
		a.deny(w, r, p, http.StatusNotFound, "client:"+id, "no such client", errors.New("no such client"))
		return contract.Client{}, false
	case p.who().OutOfView(id):
		a.deny(w, r, p, http.StatusNotFound, "client:"+id, fmt.Sprintf("client %q; the token is scoped to clients %v", id, p.Clients), errors.New("no such client"))
		return contract.Client{}, false
	}
	if why, ok := policyOf(cfg).ClientAllows(p.who(), id, roles); !ok {
		a.deny(w, r, p, http.StatusForbidden, "client:"+id, "contract end: "+why,
			fmt.Errorf("contract ends are open to %s: client %q's limits allow this token none of them", strings.Join(roles, ", "), id))
		return contract.Client{}, false
	}
	return contract.Client{ID: cl.ID, Name: cl.Name, Lines: cfg.ClientLines(cl.ID)}, true
}

// closedPurposes says, for each purpose of client's recordings that p's
// roles may not read (access.Policy.Returns), why: a ZIP return of them
// is refused.
func (a *API) closedPurposes(r *http.Request, p *Principal, client string) ([]string, error) {
	ps, err := catalog.ClientPurposes(r.Context(), a.o.Catalog.DB(), client)
	if err != nil {
		return nil, err
	}
	pol := policyOf(a.o.Config())
	var out []string
	for _, name := range slices.Sorted(maps.Keys(ps)) {
		if why := pol.Returns(p.who(), client, name, ps[name]); why != "" {
			out = append(out, why)
		}
	}
	return out, nil
}

// pathClient returns the {client} of r's route, or answers 400.
func pathClient(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("client")
	if !validClientID(id) {
		writeError(w, http.StatusBadRequest, errors.New("client: not a client id (lower-case letters, digits and '-')"))
		return "", false
	}
	return id, true
}

// contractError answers err with the status its kind calls for.
func (a *API) contractError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, contract.ErrBadTarget):
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, contract.ErrBlocked), errors.Is(err, contract.ErrNotAwaiting):
		writeError(w, http.StatusConflict, err)
	case errors.Is(err, catalog.ErrNoRun):
		writeError(w, http.StatusNotFound, errors.New("no such contract-end run"))
	default:
		a.internal(w, "contract end", err)
	}
}

// contractPlan serves GET /api/v1/clients/{client}/contract-end: the dry
// run, with the figures the certificate will give.
func (a *API) contractPlan(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathClient(w, r)
	if !ok {
		return
	}
	if !noQuery(w, r) {
		return
	}
	c, ok := a.contractClient(w, r, p, id)
	if !ok {
		return
	}
	plan, err := a.contract.Plan(r.Context(), p.Name, c)
	if err != nil {
		a.contractError(w, err)
		return
	}
	closed, err := a.closedPurposes(r, p, id)
	if err != nil {
		a.internal(w, "contract-end plan", err)
		return
	}
	plan.ZIPRefused = closed
	writeJSON(w, http.StatusOK, plan)
}

// contractRun serves POST /api/v1/clients/{client}/contract-end with
// {"target": {"kind": "s3", "bucket": …, "prefix": …}} (the certificate
// as JSON once done) or {"target": {"kind": "zip"}} (the ZIP, streamed;
// confirm it with …/contract-ends/{id}/confirm).
func (a *API) contractRun(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathClient(w, r)
	if !ok {
		return
	}
	if !noQuery(w, r) {
		return
	}
	var body struct {
		Target contract.Target `json:"target"`
	}
	if err := readBody(w, r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if body.Target.Kind == "" {
		writeError(w, http.StatusBadRequest, errors.New(`target: required, {"kind": "zip"} or {"kind": "s3", "bucket": …, "prefix": …}`))
		return
	}
	c, ok := a.contractClient(w, r, p, id)
	if !ok {
		return
	}
	if body.Target.Kind == contract.KindZIP {
		// A ZIP hands the audio decrypted to whoever holds the token: a
		// read of every recording in it, under the same rule as any
		// other. (An S3 return copies from store to the client's bucket;
		// the token's holder never receives the audio.)
		switch closed, err := a.closedPurposes(r, p, id); {
		case err != nil:
			a.internal(w, "contract end", err)
			return
		case len(closed) > 0:
			a.deny(w, r, p, http.StatusForbidden, "client:"+id, "contract-end ZIP: "+strings.Join(closed, "; "),
				fmt.Errorf("a ZIP return would hand over recordings this token may not read (%s): return to an S3 bucket instead, or use a token whose roles the purposes name",
					strings.Join(closed, "; ")))
			return
		}
		z := &lazyZip{w: w, name: "contract-end-" + id + ".zip"}
		_, cert, err := a.contract.ReturnZIP(r.Context(), p.Name, c, z)
		switch {
		case err != nil && z.started:
			a.log.Error("contract-end ZIP cut short; run it again to resume", zap.String("client", id), zap.Error(err))
		case err != nil:
			a.contractError(w, err)
		case cert != nil:
			// Nothing was left to return: the run is certified.
			writeJSON(w, http.StatusOK, cert)
		}
		return
	}
	cert, err := a.contract.ReturnS3(r.Context(), p.Name, c, body.Target)
	if err != nil {
		a.contractError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, cert)
}

// contractConfirm serves POST /api/v1/contract-ends/{id}/confirm with
// {"sums": {"<file>": "<sha256>", …}}: the checksums the recipient of a
// ZIP computed from what it received.
func (a *API) contractConfirm(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if !noQuery(w, r) {
		return
	}
	var body apiclient.ContractConfirm
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("body: %w", err))
		return
	}
	if len(body.Sums) == 0 {
		writeError(w, http.StatusBadRequest, errors.New("sums: give the SHA-256 of every file received (file name → hex)"))
		return
	}
	run, ok := a.contractRunFor(w, r, p, id)
	if !ok {
		return
	}
	c, ok := a.contractClient(w, r, p, run.Client)
	if !ok {
		return
	}
	out, err := a.contract.Confirm(r.Context(), p.Name, id, body.Sums, c)
	if err != nil {
		a.contractError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// contractRunFor returns run id for p, or answers (403 when the route's
// rule refuses p or the run's client's limits leave p none of its roles,
// 404 for an unknown run or one of a client not in p's view; all
// audited).
func (a *API) contractRunFor(w http.ResponseWriter, r *http.Request, p *Principal, id string) (*contract.RunInfo, bool) {
	if !a.allow(w, r, p, id, "") {
		return nil, false
	}
	roles := rule(r).Roles
	run, err := a.contract.Get(r.Context(), id)
	switch {
	case errors.Is(err, catalog.ErrNoRun):
		a.deny(w, r, p, http.StatusNotFound, id, "no such contract-end run", errors.New("no such contract-end run"))
		return nil, false
	case err != nil:
		a.internal(w, "contract-end run", err)
		return nil, false
	case p.who().OutOfView(run.Client):
		a.deny(w, r, p, http.StatusNotFound, id, fmt.Sprintf("run of client %q; the token is scoped to clients %v", run.Client, p.Clients),
			errors.New("no such contract-end run"))
		return nil, false
	}
	if why, ok := policyOf(a.o.Config()).ClientAllows(p.who(), run.Client, roles); !ok {
		a.deny(w, r, p, http.StatusForbidden, id, "contract end: "+why,
			fmt.Errorf("this is open to %s: client %q's limits allow this token none of them", strings.Join(roles, ", "), run.Client))
		return nil, false
	}
	return run, true
}

// contractList serves GET /api/v1/contract-ends.
func (a *API) contractList(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !noQuery(w, r) {
		return
	}
	if !a.allow(w, r, p, "", "") {
		return
	}
	runs, err := a.contract.List(r.Context())
	if err != nil {
		a.contractError(w, err)
		return
	}
	out := []*contract.RunInfo{}
	pol, who, roles := policyOf(a.o.Config()), p.who(), rule(r).Roles
	for _, run := range runs {
		if _, ok := pol.ClientAllows(who, run.Client, roles); ok {
			out = append(out, run)
		}
	}
	if err := a.record(r, p, audit.ActionContractEndRead, "", "", map[string]any{"results": len(out)}); err != nil {
		a.internal(w, "audit", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
}

// contractShow serves GET /api/v1/contract-ends/{id}.
func (a *API) contractShow(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if !noQuery(w, r) {
		return
	}
	run, ok := a.contractRunFor(w, r, p, id)
	if !ok {
		return
	}
	if err := a.record(r, p, audit.ActionContractEndRead, id, "", nil); err != nil {
		a.internal(w, "audit", err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// contractCertificate serves GET /api/v1/contract-ends/{id}/certificate
// ?format=json|text.
func (a *API) contractCertificate(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	q, err := params(r, "format")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "text" {
		writeError(w, http.StatusBadRequest, errors.New("format: json or text"))
		return
	}
	run, ok := a.contractRunFor(w, r, p, id)
	if !ok {
		return
	}
	if len(run.Cert) == 0 {
		writeError(w, http.StatusConflict, fmt.Errorf("run %s is %s: not certified yet", id, run.State))
		return
	}
	if err := a.record(r, p, audit.ActionContractEndRead, id, "", map[string]any{"certificate": format}); err != nil {
		a.internal(w, "audit", err)
		return
	}
	if format == "text" {
		var cert contract.Certificate
		if err := json.Unmarshal(run.Cert, &cert); err != nil {
			a.internal(w, "certificate", err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, cert.Text())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(run.Cert)
}
