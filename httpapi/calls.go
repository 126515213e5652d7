package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/sip"
)

// callsScope returns which calls p may see: for an admin every call of
// the lines in its view, for a supervisor those of them whose purpose
// names one of its roles; ok is false (after a 403, audited) for other
// roles. The view is as for recordings: a client-scoped token sees its
// clients' lines (through the roles their limits allow), an unscoped one
// the lines run for no client, an admin's included.
func (a *API) callsScope(w http.ResponseWriter, r *http.Request, p *Principal, target string) (func(sip.CallInfo) bool, bool) {
	if !p.Has(config.RoleAdmin) && !p.Has(config.RoleSupervisor) {
		a.deny(w, r, p, http.StatusForbidden, target, "calls in progress without the supervisor or admin role",
			errors.New("calls in progress are open to supervisors and admins"))
		return nil, false
	}
	cfg := a.o.Config()
	return func(c sip.CallInfo) bool {
		roles, why := clientRoles(cfg, p, c.Client)
		if why != "" {
			return false
		}
		if slices.Contains(roles, config.RoleAdmin) {
			return true
		}
		pu, ok := cfg.Purpose(c.Purpose)
		return ok && len(shared(roles, pu.Listeners)) > 0
	}, true
}

// callsList serves GET /api/v1/calls: calls in progress, callers masked.
func (a *API) callsList(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !noQuery(w, r) {
		return
	}
	see, ok := a.callsScope(w, r, p, "")
	if !ok {
		return
	}
	if a.o.Calls == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("no SIP server in this process"))
		return
	}
	out := []callJSON{}
	now := time.Now()
	for _, c := range a.o.Calls.Calls() {
		if !see(c) {
			continue
		}
		out = append(out, callJSON{ID: c.ID, Line: c.Line, Purpose: c.Purpose, Client: c.Client, Caller: c.Caller,
			Consent: c.Decision, Phase: c.Phase, Recording: c.Recording, StartedAt: c.StartedAt,
			Duration: now.Sub(c.StartedAt).Round(time.Millisecond).Seconds()})
	}
	if err := a.record(r, p, "calls-list", "", "", map[string]any{"results": len(out)}); err != nil {
		a.internal(w, "audit of a calls list", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": out})
}

// pause serves POST /api/v1/calls/{id}/pause (on) and …/resume (off).
func (a *API) pause(on bool) handler {
	action := map[bool]string{true: "pause", false: "resume"}[on]
	return func(w http.ResponseWriter, r *http.Request, p *Principal) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		if !noQuery(w, r) {
			return
		}
		see, ok := a.callsScope(w, r, p, id)
		if !ok {
			return
		}
		if a.o.Calls == nil {
			writeError(w, http.StatusServiceUnavailable, errors.New("no SIP server in this process"))
			return
		}
		calls := a.o.Calls.Calls()
		i := slices.IndexFunc(calls, func(c sip.CallInfo) bool { return c.ID == id })
		if i < 0 || !see(calls[i]) {
			a.deny(w, r, p, http.StatusNotFound, id, "no such call in progress, or not in the token's view (client, purpose or roles)", sip.ErrNoCall)
			return
		}
		f := a.o.Calls.Pause
		if !on {
			f = a.o.Calls.Resume
		}
		switch err := f(id, "api"); {
		case errors.Is(err, sip.ErrNoCall):
			writeError(w, http.StatusNotFound, err)
			return
		case err != nil:
			writeError(w, http.StatusConflict, err)
			return
		}
		if err := a.record(r, p, action, id, "", nil); err != nil {
			a.internal(w, "audit of a "+action, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "recording": map[bool]string{true: "paused", false: "recording"}[on]})
	}
}
