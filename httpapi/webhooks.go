package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
)

// maxRequeueIDs bounds the ids of one requeue request.
const maxRequeueIDs = 1000

// webhookRoutes registers the webhook outbox's routes (README.md lists
// them): admins list the events given up and make them due again, once
// the endpoint is mended.
func (a *API) webhookRoutes(authed func(string, handler)) {
	authed("GET /api/v1/webhooks/dead", a.deadEvents)
	authed("POST /api/v1/webhooks/dead/requeue", a.requeue)
}

// deadEvents serves GET /api/v1/webhooks/dead?limit=: the events given
// up, the last given up first (default 100, at most 500).
func (a *API) deadEvents(w http.ResponseWriter, r *http.Request, p *Principal) {
	q, err := params(r, "limit")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("limit: %q is not a number from 1 to 500", v))
			return
		}
	}
	if !a.allow(w, r, p, "", "") {
		return
	}
	evs, err := a.o.Catalog.DeadOutbox(r.Context(), limit+1)
	if err != nil {
		a.internal(w, "webhook outbox", err)
		return
	}
	out := apiclient.DeadEvents{Events: []apiclient.DeadEvent{}, Truncated: len(evs) > limit}
	for _, e := range evs[:min(len(evs), limit)] {
		out.Events = append(out.Events, apiclient.DeadEvent{ID: e.ID, Recording: e.Recording, Type: e.Type,
			CreatedAt: e.CreatedAt, Tries: e.Tries, LastError: e.LastError, Body: e.Body})
	}
	if err := a.record(r, p, audit.ActionWebhookDeadList, "", "", map[string]any{"events": len(out.Events)}); err != nil {
		a.internal(w, "audit of a webhook outbox read", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// requeue serves POST /api/v1/webhooks/dead/requeue with {"ids": […]} or
// {"all": true}: those given-up events are due again at once, counted
// from zero tries, their age from now; what they say is unchanged. The
// requeue is audited before it is made, with the ids asked.
func (a *API) requeue(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !noQuery(w, r) || !a.allow(w, r, p, "", "") {
		return
	}
	var b apiclient.RequeueRequest
	err := readBody(w, r, &b)
	switch {
	case err != nil:
	case b.All && len(b.IDs) > 0:
		err = errors.New(`body: "ids" or "all", not both`)
	case !b.All && len(b.IDs) == 0:
		err = errors.New(`body: "ids" (the events to requeue) or "all": true is required`)
	case len(b.IDs) > maxRequeueIDs:
		err = fmt.Errorf("body: %d ids, at most %d in one request", len(b.IDs), maxRequeueIDs)
	}
	for _, id := range b.IDs {
		if err == nil && !validEventID(id) {
			err = fmt.Errorf("ids: %.40q is not an event id (evt_ and 32 hex digits)", id)
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	asked := map[string]any{"all": b.All}
	if !b.All {
		asked["ids"] = b.IDs
	}
	if err := a.record(r, p, audit.ActionWebhookRequeue, "", "", asked); err != nil {
		a.internal(w, "audit of a webhook requeue", err)
		return
	}
	done, err := a.o.Catalog.RequeueOutbox(r.Context(), b.IDs, b.All, time.Now().UTC())
	if err != nil {
		a.internal(w, "webhook requeue", err)
		return
	}
	out := apiclient.RequeueResult{Requeued: done, NotDead: []string{}}
	if out.Requeued == nil {
		out.Requeued = []string{}
	}
	for _, id := range b.IDs {
		if !slices.Contains(done, id) {
			out.NotDead = append(out.NotDead, id)
		}
	}
	if a.o.WebhookKick != nil && len(done) > 0 {
		a.o.WebhookKick()
	}
	writeJSON(w, http.StatusOK, out)
}

// validEventID: "evt_" and 32 lower-case hex digits (catalog's ids).
func validEventID(s string) bool {
	if len(s) != 36 || s[:4] != "evt_" {
		return false
	}
	for _, c := range s[4:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
