package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/retention"
)

// Retention is what the retention routes need of the daemon: the plan
// and a purge run at once.
type Retention interface {
	Plan(ctx context.Context) ([]retention.PurposePlan, error)
	PurgeNow(ctx context.Context) (retention.Result, error)
}

// maxHoldIDs bounds the ids of one bulk hold request.
const maxHoldIDs = 10000

// bulkHold serves POST /api/v1/holds: a legal hold placed or released
// on the recordings of ids, of a caller number, of a time range, or of
// any combination (each narrows), among those the token may hold (a
// purpose naming privacy-officer, in the token's clients). The actor of
// every audit entry is the token; a body naming an actor is refused.
func (a *API) bulkHold(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !noQuery(w, r) {
		return
	}
	var b apiclient.BulkHoldRequest
	if err := readBody(w, r, &b); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	reason, err := checkReason(b.Reason)
	if err == nil && b.On == nil {
		err = errors.New(`body: "on" (true to hold, false to release) is required`)
	}
	if err == nil && len(b.IDs) > maxHoldIDs {
		err = fmt.Errorf("body: %d ids, at most %d in one request", len(b.IDs), maxHoldIDs)
	}
	caller := b.Caller
	if err == nil && caller != "" {
		if caller = config.NormalizeNumber(caller); caller == "" || len(caller) > config.MaxCallerLen {
			err = fmt.Errorf("caller: %q is not a number of at most %d digits", b.Caller, config.MaxCallerLen)
		}
	}
	if err == nil && !b.From.IsZero() && !b.To.IsZero() && !b.From.Before(b.To) {
		err = errors.New("body: from must be before to")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !a.allow(w, r, p, "", reason) {
		return
	}
	pol := policyOf(a.o.Config())
	n, err := a.o.Hold(r.Context(), retention.HoldRequest{IDs: b.IDs, Caller: caller, From: b.From, To: b.To,
		On: *b.On, Reason: reason, Actor: p.Name, Client: clientIP(r),
		Allow: func(rec *catalog.Recording) bool {
			g := grantOf(pol, p, rec)
			return g.OK && g.Privacy
		}})
	switch {
	case errors.Is(err, retention.ErrHoldRequest):
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, catalog.ErrNotFound):
		a.deny(w, r, p, http.StatusNotFound, "", "bulk hold naming a recording that does not exist or that the token may not hold", errors.New("a recording of ids does not exist, or is not one this token may hold: nothing changed"))
	case err != nil:
		// Holds apply batch by batch, each batch with its audit entries:
		// what the answer cannot say, the audit log does.
		a.internal(w, "legal hold (partly applied: see the audit log)", err)
	default:
		writeJSON(w, http.StatusOK, apiclient.BulkHoldResult{Changed: n, LegalHold: *b.On})
	}
}

// retentionPlan serves GET /api/v1/retention/plan: what the next purge
// would do, per purpose and client; with purpose and retention (and
// optionally extend_existing) in the query, also what changing that
// purpose's limit would do, recording by recording, before anyone
// changes it.
func (a *API) retentionPlan(w http.ResponseWriter, r *http.Request, p *Principal) {
	q, err := params(r, "purpose", "retention", "extend_existing")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	cfg := a.o.Config()
	var ch *retention.Change
	if q.Has("purpose") || q.Has("retention") || q.Has("extend_existing") {
		c, err := changeOf(cfg, q.Get("purpose"), q.Get("retention"), q.Get("extend_existing"))
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		ch = &c
	}
	if !a.allow(w, r, p, "", "") {
		return
	}
	if a.o.Retention == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("no retention job in this process"))
		return
	}
	plan, err := a.o.Retention.Plan(r.Context())
	if err != nil {
		a.internal(w, "retention plan", err)
		return
	}
	out := apiclient.RetentionPlan{Purposes: []apiclient.PurposePlan{}}
	for _, pp := range plan {
		out.Purposes = append(out.Purposes, apiclient.PurposePlan(pp))
	}
	detail := map[string]any{}
	if ch != nil {
		pv, err := retention.PreviewChange(r.Context(), a.o.Catalog, cfg, *ch, a.now())
		if err != nil {
			a.internal(w, "retention preview", err)
			return
		}
		out.Preview = &apiclient.RetentionPreview{Purpose: pv.Purpose, From: pv.From, To: pv.To, ExtendExisting: pv.ExtendExisting,
			Now: pv.Now, Stored: pv.Stored, Earlier: pv.Earlier, Later: pv.Later, Unchanged: pv.Unchanged,
			Due: pv.Due, DueHeld: pv.DueHeld, Recordings: []apiclient.DueRecording{}, More: pv.More}
		ids := make([]string, len(pv.Recordings))
		for i, d := range pv.Recordings {
			ids[i] = d.ID
			out.Preview.Recordings = append(out.Preview.Recordings, apiclient.DueRecording(d))
		}
		detail = map[string]any{"purpose": pv.Purpose, "from": pv.From, "to": pv.To, "due": pv.Due, "due_held": pv.DueHeld, "ids": ids}
	}
	if err := a.record(r, p, audit.ActionRetentionPlan, "", "", detail); err != nil {
		a.internal(w, "audit of a retention plan", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// changeOf reads a previewed change from the plan's query.
func changeOf(cfg *config.Config, purpose, limit, extend string) (retention.Change, error) {
	if purpose == "" || limit == "" {
		return retention.Change{}, errors.New("query: a preview needs both purpose and retention")
	}
	pu, ok := cfg.Purpose(purpose)
	if !ok {
		return retention.Change{}, fmt.Errorf("query: purpose %q is not configured", purpose)
	}
	ret, err := config.ParseRetention(limit)
	if err != nil {
		return retention.Change{}, fmt.Errorf("query: retention: %w", err)
	}
	ch := retention.Change{Purpose: purpose, Retention: ret, ExtendExisting: pu.ExtendExisting}
	if extend != "" {
		if ch.ExtendExisting, err = strconv.ParseBool(extend); err != nil {
			return retention.Change{}, fmt.Errorf("query: extend_existing: %q is not true or false", extend)
		}
	}
	return ch, nil
}

// purge serves POST /api/v1/retention/purge: the purge the schedule
// would run, at once. Who asked is audited before it runs; each deletion
// is audited by the purge itself.
func (a *API) purge(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !noQuery(w, r) {
		return
	}
	var b apiclient.PurgeRequest
	if err := readBody(w, r, &b); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	reason, err := checkReason(b.Reason)
	if errors.Is(err, errNoReason) {
		reason, err = "", nil
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !a.allow(w, r, p, "", reason) {
		return
	}
	if a.o.Retention == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("no retention job in this process"))
		return
	}
	if err := a.record(r, p, audit.ActionPurgeRequest, "", reason, nil); err != nil {
		a.internal(w, "audit of a purge request", err)
		return
	}
	res, err := a.o.Retention.PurgeNow(r.Context())
	switch {
	case errors.Is(err, retention.ErrBusy), errors.Is(err, retention.ErrElsewhere):
		writeError(w, http.StatusConflict, err)
	case err != nil:
		a.internal(w, "purge", err)
	default:
		writeJSON(w, http.StatusOK, apiclient.PurgeResult{Deleted: res.Deleted, SpoolDeleted: res.Spool,
			Held: res.Held, Failed: res.Failed, Seconds: res.Duration.Seconds()})
	}
}

// now is the API's clock.
func (a *API) now() time.Time {
	if a.o.Now != nil {
		return a.o.Now()
	}
	return time.Now()
}
