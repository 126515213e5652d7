package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/sip"
)

// callsScope returns which calls p may see (access.Policy.SeesCall);
// ok is false (after a 403, audited) when the route's rule refuses p.
func (a *API) callsScope(w http.ResponseWriter, r *http.Request, p *Principal, target string) (func(sip.CallInfo) bool, bool) {
	if !a.allow(w, r, p, target, "") {
		return nil, false
	}
	pol, who := policyOf(a.o.Config()), p.who()
	return func(c sip.CallInfo) bool { return pol.SeesCall(who, c.Client, c.Purpose) }, true
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
	out := []apiclient.Call{}
	now := time.Now()
	for _, c := range a.o.Calls.Calls() {
		if !see(c) {
			continue
		}
		out = append(out, apiclient.Call{ID: c.ID, Line: c.Line, Purpose: c.Purpose, Client: c.Client, Caller: c.Caller,
			Consent: c.Decision, Phase: c.Phase, Recording: c.Recording, StartedAt: c.StartedAt,
			Duration: now.Sub(c.StartedAt).Round(time.Millisecond).Seconds(), AgentID: c.AgentID})
		if _, hears := a.hears(p, c); hears && (c.Recording == "recording" || c.Recording == "paused") {
			out[len(out)-1].Listenable = true
		}
	}
	if err := a.record(r, p, audit.ActionCallsList, "", "", map[string]any{"results": len(out)}); err != nil {
		a.internal(w, "audit of a calls list", err)
		return
	}
	writeJSON(w, http.StatusOK, apiclient.CallList{Calls: out})
}

// pause serves POST /api/v1/calls/{id}/pause (on) and …/resume (off).
func (a *API) pause(on bool) handler {
	action := map[bool]audit.Action{true: audit.ActionPause, false: audit.ActionResume}[on]
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
			a.internal(w, "audit of a "+string(action), err)
			return
		}
		writeJSON(w, http.StatusOK, apiclient.PauseResult{ID: id, Recording: map[bool]string{true: "paused", false: "recording"}[on]})
	}
}
