package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/access"
	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// summary is rec as a search lists it, for g.
func summary(rec *catalog.Recording, g access.Grant) apiclient.Recording {
	c, masked := caller(g, rec.Caller, rec.CallerWithheld)
	return apiclient.Recording{ID: rec.ID, StartedAt: rec.StartedAt, AnsweredAt: rec.AnsweredAt, EndedAt: rec.EndedAt,
		Duration: rec.Duration.Seconds(), Line: rec.Line, Dialled: rec.Dialled, Purpose: rec.Purpose,
		Client: rec.Client, Caller: c, CallerMasked: masked, CallerWithheld: rec.CallerWithheld, Decision: rec.Decision, HasAudio: rec.ObjectKey != "",
		LegalHold: rec.LegalHold, State: rec.State, RetainUntil: rec.RetainUntil, CutShort: rec.CutShort,
		SilentChannels: rec.SilentChannels, AgentID: rec.AgentID, EndReason: catalog.EndReason(rec), SIPCallID: rec.SIPCallID}
}

// maskManifest returns the manifest with its caller numbers (the caller,
// From and the asserted identity) masked, or "withheld" where the caller
// withheld them, unless g is a privacy officer's.
func maskManifest(m json.RawMessage, g access.Grant) json.RawMessage {
	if g.Privacy || len(m) == 0 {
		return m
	}
	dec := json.NewDecoder(bytes.NewReader(m))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return json.RawMessage(`{}`)
	}
	hidden, _ := doc["caller_withheld"].(bool)
	for _, k := range []string{"caller", "caller_from", "caller_asserted"} {
		if c, ok := doc[k].(string); ok {
			doc[k], _ = caller(g, c, hidden)
		}
	}
	b, _ := json.Marshal(doc)
	return b
}

// search serves GET /api/v1/recordings.
func (a *API) search(w http.ResponseWriter, r *http.Request, p *Principal) {
	s, audited, pol, loc, ok := a.searchFor(w, r, p, searchParams)
	if !ok {
		return
	}
	limit := s.Limit
	out := apiclient.SearchPage{Recordings: []apiclient.Recording{}}
	if counted(r) {
		// Asked for, on the first page only: later pages of the same
		// search keep it, and do not pay for it again.
		n, err := a.o.Catalog.CountSearch(r.Context(), s, maxTotal)
		if err != nil {
			a.internal(w, "search count", err)
			return
		}
		if n > maxTotal {
			n, out.TotalAtLeast = maxTotal, true
		}
		out.Total = &n
	}
	s.Limit++
	rows, err := a.o.Catalog.Search(r.Context(), s)
	if err != nil {
		a.internal(w, "search", err)
		return
	}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		out.NextCursor = encodeCursor(catalog.Cursor{Key: catalog.SortKey(s.Sort, last), StartedAt: last.StartedAt, ID: last.ID}, s.Sort, s.Desc)
	}
	ids := []string{}
	for _, rec := range rows {
		out.Recordings = append(out.Recordings, inZone(summary(rec, grantOf(pol, p, rec)), loc))
		ids = append(ids, rec.ID)
	}
	// The ids shown are kept, so that an incident report can tell whose
	// recordings a search listed.
	audited["results"], audited["ids"] = len(out.Recordings), ids
	if out.Total != nil {
		audited["total"] = *out.Total
	}
	if err := a.record(r, p, audit.ActionSearch, "", "", audited); err != nil {
		a.internal(w, "audit of a search", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// maxTotal is as far as a search's total is counted: a page of a broad
// search over millions of recordings must not cost a scan of them all
// (counting reads each matching row: about 17 µs a row on SQLite, see
// make bench-api's "counted" cases).
const maxTotal = 1000

// counted reports whether a search asked for its total (count=1).
func counted(r *http.Request) bool {
	v := r.URL.Query().Get("count")
	return v == "1" || v == "true"
}

// searchParams are the query parameters of a search (and of its export).
var searchParams = []string{"from", "to", "line", "purpose", "client", "decision", "caller", "agent_id", "min_duration",
	"max_duration", "hold", "end_reason", "sip_call_id", "tz", "sort", "cursor", "limit", "count"}

// searchFor reads and authorises r's search: the catalog search, the
// audit detail, the policy and the zone the answer's times are given
// in (nil: UTC). It answers the request itself when it returns false.
func (a *API) searchFor(w http.ResponseWriter, r *http.Request, p *Principal, allowed []string) (catalog.Search, map[string]any, access.Policy, *time.Location, bool) {
	var none access.Policy
	q, err := params(r, allowed...)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return catalog.Search{}, nil, none, nil, false
	}
	cfg := a.o.Config()
	s, audited, loc, err := searchOf(q, cfg)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return s, nil, none, nil, false
	}
	if !a.allow(w, r, p, "", "") {
		return s, nil, none, nil, false
	}
	pol := policyOf(cfg)
	sc := pol.Search(p.who())
	switch {
	case len(sc.Visible) == 0:
		a.deny(w, r, p, http.StatusForbidden, "", "search: no purpose names any of the roles", errors.New("no purpose's recordings are open to your roles"))
		return s, nil, none, nil, false
	case s.Purpose != "" && !slices.Contains(sc.Visible, s.Purpose):
		a.deny(w, r, p, http.StatusForbidden, "", fmt.Sprintf("search: purpose %q names none of the roles", s.Purpose),
			fmt.Errorf("purpose %q is not open to your roles", s.Purpose))
		return s, nil, none, nil, false
	case (s.Caller != "" || s.Sort == "caller") && len(sc.Privacy) == 0:
		a.deny(w, r, p, http.StatusForbidden, "", "search or sort by caller number without the privacy-officer role",
			errors.New("caller: searching or sorting by caller number is for privacy officers"))
		return s, nil, none, nil, false
	case s.Caller != "" && s.Purpose != "" && !slices.Contains(sc.Privacy, s.Purpose):
		a.deny(w, r, p, http.StatusForbidden, "", fmt.Sprintf("search by caller number in purpose %q, which does not name privacy-officer", s.Purpose),
			fmt.Errorf("caller: purpose %q is not open to privacy officers", s.Purpose))
		return s, nil, none, nil, false
	case s.Client != "" && !slices.Contains(sc.Clients(), s.Client):
		a.deny(w, r, p, http.StatusForbidden, "", fmt.Sprintf("search: client %q is not in the token's view", s.Client),
			fmt.Errorf("client: %q's recordings are not open to this token", s.Client))
		return s, nil, none, nil, false
	}
	s.Scopes = catalogScopes(sc.Groups)
	if s.Caller != "" || s.Sort == "caller" {
		// A caller number is a privacy officer's search key (and its
		// order theirs to see): only the purposes open to that role are
		// searched.
		s.Scopes = catalogScopes(sc.CallerGroups())
	}
	return s, audited, pol, loc, true
}

// inZone gives rec's times in loc (nil: as they are, UTC).
func inZone(rec apiclient.Recording, loc *time.Location) apiclient.Recording {
	if loc == nil {
		return rec
	}
	rec.StartedAt, rec.RetainUntil = rec.StartedAt.In(loc), rec.RetainUntil.In(loc)
	for _, t := range []**time.Time{&rec.AnsweredAt, &rec.EndedAt} {
		if *t != nil {
			v := (*t).In(loc)
			*t = &v
		}
	}
	return rec
}

// searchOf reads the search filters. It returns them, and the filters as
// the audit entry keeps them (a caller number masked).
func searchOf(q map[string][]string, cfg *config.Config) (catalog.Search, map[string]any, *time.Location, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	s := catalog.Search{Desc: true}
	filters := map[string]any{}
	var err error
	loc := cfg.Retention.Location
	if loc == nil {
		loc = time.UTC
	}
	var zone *time.Location
	if v := get("tz"); v != "" {
		// The zone the answer's times are given in, and the one local
		// times of from and to are read in.
		z, err := loadZone(v)
		if err != nil {
			return s, nil, nil, err
		}
		zone, loc = z, z
		filters["tz"] = v
	}
	if v := get("from"); v != "" {
		if s.From, err = parseTime("from", v, loc); err != nil {
			return s, nil, nil, err
		}
		filters["from"] = s.From
	}
	if v := get("to"); v != "" {
		if s.To, err = parseTime("to", v, loc); err != nil {
			return s, nil, nil, err
		}
		filters["to"] = s.To
	}
	if !s.From.IsZero() && !s.To.IsZero() && !s.From.Before(s.To) {
		return s, nil, nil, errors.New("from: must be before to")
	}
	if v := get("line"); v != "" {
		s.Line = config.NormalizeNumber(v)
		if !isDigits(strings.TrimPrefix(s.Line, "+")) || len(s.Line) > 32 {
			return s, nil, nil, fmt.Errorf("line: %q is not a dialled number", v)
		}
		filters["line"] = s.Line
	}
	if v := get("purpose"); v != "" {
		if _, ok := cfg.Purpose(v); !ok {
			return s, nil, nil, fmt.Errorf("purpose: %q is not a configured purpose", v)
		}
		s.Purpose = v
		filters["purpose"] = v
	}
	if v := get("client"); v != "" {
		if _, ok := cfg.Client(v); !ok {
			return s, nil, nil, fmt.Errorf("client: %q is not a configured client", v)
		}
		s.Client = v
		filters["client"] = v
	}
	if v := get("decision"); v != "" {
		if v != spool.Notified && v != spool.OptedOut && v != spool.HungUpDuringNotice {
			return s, nil, nil, fmt.Errorf("decision: %q is not notified, opted-out or hung-up-during-notice", v)
		}
		s.Decision = v
		filters["decision"] = v
	}
	if v := get("caller"); v != "" {
		s.Caller = config.NormalizeNumber(v)
		if !isDigits(strings.TrimPrefix(s.Caller, "+")) || len(s.Caller) > 32 {
			return s, nil, nil, fmt.Errorf("caller: %q is not a telephone number", config.MaskNumber(v))
		}
		filters["caller"] = config.MaskNumber(s.Caller)
	}
	if v := get("agent_id"); v != "" {
		if err := spool.CheckAgentID(v); err != nil {
			// The value is not echoed: it may be what the check refused.
			return s, nil, nil, fmt.Errorf("agent_id: not an agent id (%v)", err)
		}
		s.AgentID = v
		filters["agent_id"] = v
	}
	if v := get("min_duration"); v != "" {
		if s.MinDuration, err = parseMinDuration(v); err != nil {
			return s, nil, nil, err
		}
		filters["min_duration_seconds"] = s.MinDuration.Seconds()
	}
	if v := get("max_duration"); v != "" {
		if s.MaxDuration, err = parseDuration("max_duration", v); err != nil {
			return s, nil, nil, err
		}
		if s.MaxDuration == 0 || s.MaxDuration < s.MinDuration {
			return s, nil, nil, fmt.Errorf("max_duration: %s must be more than 0 and at least min_duration", s.MaxDuration)
		}
		filters["max_duration_seconds"] = s.MaxDuration.Seconds()
	}
	switch v := get("hold"); v {
	case "":
	case catalog.Held, catalog.NotHeld:
		s.Hold = v
		filters["hold"] = v
	default:
		return s, nil, nil, fmt.Errorf("hold: %q is not %s or %s", v, catalog.Held, catalog.NotHeld)
	}
	if v := get("end_reason"); v != "" {
		if len(v) > 40 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyz-") != "" {
			return s, nil, nil, fmt.Errorf("end_reason: %q is not an end reason such as caller-hangup or agent-hangup", v)
		}
		s.EndReason = v
		filters["end_reason"] = v
	}
	if v := get("sip_call_id"); v != "" {
		if len(v) > 256 || !printableASCII(v) {
			return s, nil, nil, errors.New("sip_call_id: not a SIP Call-ID (1 to 256 printable ASCII characters without spaces)")
		}
		s.SIPCallID = v
		filters["sip_call_id"] = v
	}
	sort := get("sort")
	key, desc := strings.TrimPrefix(sort, "-"), strings.HasPrefix(sort, "-")
	switch {
	case sort == "" || sort == "-started_at":
	case sort == "started_at":
		s.Desc = false
	case key != "started_at" && catalog.IsSortKey(key):
		s.Sort, s.Desc = key, desc
		filters["sort"] = sort
	default:
		return s, nil, nil, fmt.Errorf("sort: %q is not started_at or %s, each with a leading - for the descending order", sort, strings.Join(catalog.SortKeys(), ", "))
	}
	if v := get("cursor"); v != "" {
		if s.After, err = decodeCursor(v, s.Sort, s.Desc); err != nil {
			return s, nil, nil, err
		}
		filters["page"] = "next"
	}
	switch v := get("count"); {
	case v == "" || v == "0" || v == "false":
	case v != "1" && v != "true":
		return s, nil, nil, fmt.Errorf("count: %q is not 1, 0, true or false", v)
	case s.After != nil:
		return s, nil, nil, errors.New("count: the first page (no cursor) is the one counted")
	}
	if s.Limit, err = parseLimit(get("limit"), defaultLimit, maxLimit); err != nil {
		return s, nil, nil, err
	}
	return s, map[string]any{"filters": filters}, zone, nil
}

// loadZone reads an IANA time zone name.
func loadZone(v string) (*time.Location, error) {
	if len(v) > 64 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+-") != "" || strings.Contains(v, "..") {
		return nil, fmt.Errorf("tz: %q is not a time zone such as Asia/Tokyo or UTC", v)
	}
	z, err := time.LoadLocation(v)
	if err != nil || v == "Local" {
		return nil, fmt.Errorf("tz: %q is not a time zone such as Asia/Tokyo or UTC", v)
	}
	return z, nil
}

// printableASCII reports whether s is visible ASCII without spaces.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return s != ""
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// visible loads recording id for p, or answers 404 (auditing the
// refusal) and returns nil.
func (a *API) visible(w http.ResponseWriter, r *http.Request, p *Principal, cfg *config.Config, id, reason string) (*catalog.Recording, access.Grant) {
	rec, err := a.o.Catalog.Get(r.Context(), id)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		a.denyFor(w, r, p, http.StatusNotFound, id, reason, "no such recording", errNotFound)
		return nil, access.Grant{}
	case err != nil:
		a.internal(w, "recording lookup", err)
		return nil, access.Grant{}
	}
	g := grantOf(policyOf(cfg), p, rec)
	if !g.OK {
		a.denyFor(w, r, p, http.StatusNotFound, id, reason, g.Why, errNotFound)
		return nil, access.Grant{}
	}
	return rec, g
}

// view serves GET /api/v1/recordings/{id}.
func (a *API) view(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if !noQuery(w, r) {
		return
	}
	if !a.allow(w, r, p, id, "") {
		return
	}
	cfg := a.o.Config()
	rec, g := a.visible(w, r, p, cfg, id, "")
	if rec == nil {
		return
	}
	out := apiclient.RecordingDetail{Recording: summary(rec, g), SIPCallID: rec.SIPCallID, Agent: rec.Agent,
		HoldReason: rec.HoldReason, StoredAt: rec.StoredAt, Consent: rec.Consent, Manifest: maskManifest(rec.Manifest, g),
		Can: apiclient.RecordingCan{Play: rec.ObjectKey != "", Hold: g.Privacy && access.Allows(p.who(), "PUT /api/v1/recordings/{id}/hold")}}
	if pu, ok := cfg.Purpose(rec.Purpose); ok {
		out.PurposeDescription = pu.Description
	}
	if cl, ok := cfg.Client(rec.Client); ok {
		out.ClientName = cl.Name
	}
	if rec.ObjectKey != "" {
		out.AudioSize, _ = crypt.PlainSize(rec.Size)
		out.AudioSHA256 = rec.AudioSHA256
		out.AudioFormat = recording.AudioFormat(rec)
		out.AudioFile = recording.AudioFile(rec)
	}
	if len(out.Consent) == 0 {
		out.Consent = json.RawMessage(`{}`)
	}
	if err := a.record(r, p, audit.ActionView, id, "", nil); err != nil {
		a.internal(w, "audit of a view", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// readBody decodes an optional small JSON body strictly into v.
func readBody(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if dec.More() {
		return errors.New("body: more than one JSON value")
	}
	return nil
}

// hold serves PUT (on) and DELETE (off) /api/v1/recordings/{id}/hold.
func (a *API) hold(on bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p *Principal) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		q, err := params(r, "reason")
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		var body apiclient.HoldRequest
		if err := readBody(w, r, &body); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		reason, err := reasonOf(r, q)
		if errors.Is(err, errNoReason) && body.Reason != "" {
			reason, err = checkReason(body.Reason)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		if !a.allow(w, r, p, id, reason) {
			return
		}
		cfg := a.o.Config()
		rec, g := a.visible(w, r, p, cfg, id, reason)
		if rec == nil {
			return
		}
		if !g.Privacy {
			a.denyFor(w, r, p, http.StatusForbidden, id, reason, fmt.Sprintf("legal hold: purpose %q does not name privacy-officer", rec.Purpose),
				errors.New("legal holds on this recording's purpose are not open to privacy officers"))
			return
		}
		n, err := a.o.Hold(r.Context(), retention.HoldRequest{IDs: []string{id}, On: on, Reason: reason, Actor: p.Name, Client: clientIP(r)})
		switch {
		case errors.Is(err, retention.ErrHoldRequest):
			writeError(w, http.StatusBadRequest, err)
			return
		case err != nil:
			a.internal(w, "legal hold", err)
			return
		}
		writeJSON(w, http.StatusOK, apiclient.HoldResult{ID: id, LegalHold: on, Changed: n > 0})
	}
}

// audioTicket serves POST /api/v1/recordings/{id}/audio-ticket: a URL the
// browser's <audio> (or a download link) can fetch without the token.
func (a *API) audioTicket(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if !noQuery(w, r) {
		return
	}
	var body apiclient.TicketRequest
	if err := readBody(w, r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	reason, err := checkReason(body.Reason)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !a.allow(w, r, p, id, reason) {
		return
	}
	rec, _ := a.visible(w, r, p, a.o.Config(), id, reason)
	if rec == nil {
		return
	}
	if rec.ObjectKey == "" {
		writeError(w, http.StatusNotFound, noAudio(rec))
		return
	}
	tk, exp := a.tickets.issue(ticket{Name: p.Name, Roles: p.Roles, Clients: p.Clients, ID: id, Reason: reason, Download: body.Download}, time.Now())
	writeJSON(w, http.StatusOK, apiclient.Ticket{URL: "/api/v1/recordings/" + id + "/audio?ticket=" + tk, ExpiresAt: exp.UTC()})
}

func noAudio(rec *catalog.Recording) error {
	return fmt.Errorf("recording %s has no audio (consent decision: %s)", rec.ID, rec.Decision)
}

// me serves GET /api/v1/me: who the token is and what it may do, for the
// UI and kirokuctl.
func (a *API) me(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !a.allow(w, r, p, "", "") {
		return
	}
	cfg := a.o.Config()
	who := p.who()
	sc := policyOf(cfg).Search(who)
	ps := []apiclient.MePurpose{}
	for _, name := range sc.Visible {
		pu, _ := cfg.Purpose(name)
		ps = append(ps, apiclient.MePurpose{Name: name, Description: pu.Description, Privacy: slices.Contains(sc.Privacy, name)})
	}
	cs := []apiclient.MeClient{}
	for _, id := range p.Clients {
		if cl, ok := cfg.Client(id); ok {
			cs = append(cs, apiclient.MeClient{ID: id, Name: cl.Name})
		}
	}
	writeJSON(w, http.StatusOK, apiclient.Me{
		Name: p.Name, Roles: p.Roles, Purposes: ps, Clients: cs,
		Can: apiclient.MeCan{
			SearchCaller: len(sc.Privacy) > 0,
			Hold:         len(sc.Privacy) > 0,
			Audit:        access.Allows(who, "GET /api/v1/audit"),
			Calls:        access.Allows(who, "GET /api/v1/calls"),
			Incident:     access.Allows(who, "GET /api/v1/incidents"),
			Note:         access.Allows(who, "POST /api/v1/recordings/{id}/notes"),
			ContractEnd:  access.Allows(who, "GET /api/v1/clients/{client}/contract-end"),
		},
	})
}
