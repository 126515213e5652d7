package httpapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/access"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// policyOf is what the access rules read of cfg: the purposes with
// their listeners and the clients with the roles their limits allow.
func policyOf(cfg *config.Config) access.Policy {
	pol := access.Policy{Purposes: make([]access.Purpose, 0, len(cfg.Purposes)), Clients: make([]access.Client, 0, len(cfg.Clients))}
	for _, pu := range cfg.Purposes {
		pol.Purposes = append(pol.Purposes, access.Purpose{Name: pu.Name, Description: pu.Description, Listeners: pu.Listeners})
	}
	for _, cl := range cfg.Clients {
		pol.Clients = append(pol.Clients, access.Client{ID: cl.ID, Roles: cl.Limits.Roles})
	}
	return pol
}

// who is p as the access rules read it.
func (p *Principal) who() access.Principal {
	return access.Principal{Roles: p.Roles, Clients: p.Clients}
}

// grantOf applies access's rule for one recording (access.Policy.Grant).
func grantOf(pol access.Policy, p *Principal, rec *catalog.Recording) access.Grant {
	use := access.Unusable
	switch rec.State {
	case catalog.StateStored:
		use = access.InUse
	case catalog.StateRestricted:
		use = access.StopOfUse
	}
	return pol.Grant(p.who(), access.Recording{Purpose: rec.Purpose, Client: rec.Client, State: rec.State, Use: use})
}

// catalogScopes turns access's search groups into the catalog's scopes.
func catalogScopes(gs []access.Group) []catalog.Scope {
	out := make([]catalog.Scope, 0, len(gs))
	for _, g := range gs {
		out = append(out, catalog.Scope{Clients: g.Clients, Visible: g.Visible, Restricted: g.Restricted})
	}
	return out
}

// withheld is what is shown in place of a number its caller withheld.
const withheld = "withheld"

// caller returns the caller number as the grant may see it: in full to
// a privacy officer, else masked, or "withheld" when the caller
// withheld it.
func caller(g access.Grant, number string, hidden bool) (string, bool) {
	switch {
	case g.Privacy:
		return number, false
	case hidden:
		return withheld, true
	}
	return config.MaskNumber(number), true
}

// record appends an audit entry for an access by p, with the client's
// address (and user agent) in its detail. It runs in its own transaction
// (the chain head is read and extended atomically) and is not cut short
// by the client going away.
func (a *API) record(r *http.Request, p *Principal, action audit.Action, target, reason string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["client"] = clientIP(r)
	if ua := r.UserAgent(); ua != "" {
		detail["user_agent"] = truncate(ua, 200)
	}
	d, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("audit detail: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditTimeout)
	defer cancel()
	return a.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		_, err := audit.Append(ctx, tx, audit.Entry{Actor: p.Name, Action: action, Target: target, Reason: reason, Detail: string(d)})
		return err
	})
}

// deny audits a refusal ("denied", with the route and why) and answers
// code with msg. The audit entry says why; the answer says no more than
// the caller may know.
func (a *API) deny(w http.ResponseWriter, r *http.Request, p *Principal, code int, target, why string, msg error) {
	a.denyFor(w, r, p, code, target, "", why, msg)
}

// denyFor is deny keeping the reason the request gave.
func (a *API) denyFor(w http.ResponseWriter, r *http.Request, p *Principal, code int, target, reason, why string, msg error) {
	if !a.flood.admit(denialKey{actor: p.Name, client: clientIP(r), route: r.Pattern}, code) {
		writeError(w, code, msg) // counted into the window's summary entry (flood.go)
		return
	}
	if err := a.record(r, p, audit.ActionDenied, target, reason, map[string]any{"route": r.Pattern, "why": why, "status": code}); err != nil {
		a.internal(w, "audit of a denial", err)
		return
	}
	writeError(w, code, msg)
}

// internal logs err and answers 500 without its text.
func (a *API) internal(w http.ResponseWriter, what string, err error) {
	a.log.Error(what, zap.Error(err))
	writeError(w, http.StatusInternalServerError, fmt.Errorf("%s failed; see kirokud's log", what))
}

// errNotFound is the answer for a recording that does not exist and for
// one the caller may not see alike, so that ids cannot be probed.
var errNotFound = errors.New("no such recording")

// validID reports whether s is a recording or call id: a UUID in its
// canonical lower-case form.
func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// pathID returns the {id} of r's route, or answers 400.
func pathID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !validID(id) {
		writeError(w, http.StatusBadRequest, errors.New("id: not a recording id (a lower-case UUID such as 0192f3e4-5b6c-7d8e-9fa0-b1c2d3e4f5a6)"))
		return "", false
	}
	return id, true
}

// noQuery answers 400 to a request with query parameters on a route that
// takes none, and reports whether the request may go on.
func noQuery(w http.ResponseWriter, r *http.Request) bool {
	if _, err := params(r); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

// params parses r's query and checks that it holds only the names in
// allowed, each at most once.
func params(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	for k, v := range q {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return nil, fmt.Errorf("query: parameter %q is unknown; this route takes none", k)
			}
			return nil, fmt.Errorf("query: parameter %q is unknown (want %s)", k, strings.Join(allowed, ", "))
		}
		if len(v) > 1 {
			return nil, fmt.Errorf("query: parameter %q is repeated", k)
		}
	}
	return q, nil
}

// Reasons.
const (
	reasonHeader = "X-Kiroku-Reason"
	maxReason    = 500 // characters
)

var errNoReason = errors.New("reason: required to play, download or change a hold: say why (header X-Kiroku-Reason, percent-encoded UTF-8, or query parameter reason)")

// reasonOf reads the reason given for an access: the X-Kiroku-Reason
// header (percent-encoded UTF-8, as encodeURIComponent makes it, since
// header values are not UTF-8) or the reason query parameter.
func reasonOf(r *http.Request, q url.Values) (string, error) {
	if h := r.Header.Get(reasonHeader); h != "" {
		s, err := url.PathUnescape(h)
		if err != nil {
			return "", fmt.Errorf("%s: not percent-encoded UTF-8: %w", reasonHeader, err)
		}
		return checkReason(s)
	}
	return checkReason(q.Get("reason"))
}

// checkReason trims s and checks it is a usable reason.
func checkReason(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errNoReason
	case !utf8.ValidString(s):
		return "", errors.New("reason: not UTF-8")
	case utf8.RuneCountInString(s) > maxReason:
		return "", fmt.Errorf("reason: longer than %d characters", maxReason)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", errors.New("reason: holds a control character")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) >= 0:
		return "", errors.New("reason: holds a format character (a bidi override, a zero-width space)")
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
