package httpapi

import (
	"errors"
	"net/http"

	"github.com/kiroku-voice/kiroku/rights"
)

// erasurePlan serves GET /api/v1/requests/{id}/erasure-plan: what the
// erasure would destroy and what a hold keeps, now, with the confirm
// that POST …/erase takes back. It changes nothing.
func (a *API) erasurePlan(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok || !noQuery(w, r) {
		return
	}
	plan, err := a.rights().PlanErasure(r.Context(), id)
	if err != nil {
		a.rightsError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, plan)
}

// erase serves POST /api/v1/requests/{id}/erase: the erasure, once its
// plan is confirmed ({"confirm": …}); without a confirm 428, with one
// the plan no longer matches 409 — each with the plan as it is now.
func (a *API) erase(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok || !noQuery(w, r) {
		return
	}
	var body struct {
		Confirm string `json:"confirm"`
	}
	if err := readBody(w, r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	out, err := a.rights().Erase(r.Context(), p.Name, id, body.Confirm)
	var pe *rights.PlanError
	switch {
	case errors.As(err, &pe):
		code := http.StatusConflict
		if pe.Missing {
			code = http.StatusPreconditionRequired
		}
		writeJSON(w, code, map[string]any{"error": pe.Error(), "plan": pe.Plan})
	case err != nil:
		a.rightsError(w, err)
	default:
		writeJSON(w, http.StatusOK, out)
	}
}
