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

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// grant is what a principal may do with one recording.
type grant struct {
	ok      bool
	privacy bool   // through the privacy-officer role: caller number shown, restricted visible
	why     string // when !ok, for the audit entry
}

// grantOf applies the rule: a recording is visible to a principal holding
// a role its purpose names among its listeners; a recording of a client's
// line only to a principal scoped to that client, through a role the
// client's limits allow, and a recording of no client only to an
// unscoped principal; a restricted (stop of use) one only through the
// privacy-officer role; other states (being purged) to no one.
func grantOf(cfg *config.Config, p *Principal, rec *catalog.Recording) grant {
	purpose, ok := cfg.Purpose(rec.Purpose)
	if !ok {
		return grant{why: fmt.Sprintf("purpose %q is not configured", rec.Purpose)}
	}
	roles, why := clientRoles(cfg, p, rec.Client)
	if why != "" {
		return grant{why: why}
	}
	roles = shared(roles, purpose.Listeners)
	if len(roles) == 0 {
		return grant{why: fmt.Sprintf("purpose %q names none of the roles %v", rec.Purpose, p.Roles)}
	}
	privacy := slices.Contains(roles, config.RolePrivacyOfficer)
	switch rec.State {
	case catalog.StateStored:
	case catalog.StateRestricted:
		if !privacy {
			return grant{why: "recording is restricted (stop of use): privacy officers only"}
		}
	default:
		return grant{why: fmt.Sprintf("recording is %s", rec.State)}
	}
	return grant{ok: true, privacy: privacy}
}

// clientRoles returns the roles through which p may see the recordings
// and calls of client ("" for lines run for no client), or why it may
// not see them at all.
func clientRoles(cfg *config.Config, p *Principal, client string) ([]string, string) {
	switch {
	case client == "" && p.Scoped():
		return nil, fmt.Sprintf("line run for no client; the token is scoped to clients %v", p.Clients)
	case client == "":
		return p.Roles, ""
	case !slices.Contains(p.Clients, client) && !p.Scoped():
		return nil, fmt.Sprintf("line run for client %q; the token is scoped to no client (it sees lines run for no client only)", client)
	case !slices.Contains(p.Clients, client):
		return nil, fmt.Sprintf("line run for client %q; the token is scoped to clients %v", client, p.Clients)
	}
	cl, ok := cfg.Client(client)
	if !ok {
		return nil, fmt.Sprintf("client %q is not configured", client)
	}
	var roles []string
	for _, r := range p.Roles {
		if cl.Allows(r) {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return nil, fmt.Sprintf("client %q's limits allow none of the roles %v", client, p.Roles)
	}
	return roles, ""
}

// scope is what a principal may search: per group of clients in its view
// (or the lines of no client), the purposes naming one of its roles, and
// among them those naming privacy-officer which it holds; visible and
// privacy are their unions.
type scope struct {
	visible, privacy []string
	scopes           []catalog.Scope
}

func scopeOf(cfg *config.Config, p *Principal) scope {
	var s scope
	view := p.Clients
	if !p.Scoped() {
		view = []string{""}
	}
	for _, client := range view {
		roles, why := clientRoles(cfg, p, client)
		if why != "" {
			continue
		}
		var vis, priv []string
		for _, pu := range cfg.Purposes {
			rs := shared(roles, pu.Listeners)
			if len(rs) == 0 {
				continue
			}
			vis = append(vis, pu.Name)
			if slices.Contains(rs, config.RolePrivacyOfficer) {
				priv = append(priv, pu.Name)
			}
		}
		if len(vis) == 0 {
			continue
		}
		for _, v := range vis {
			if !slices.Contains(s.visible, v) {
				s.visible = append(s.visible, v)
			}
		}
		for _, v := range priv {
			if !slices.Contains(s.privacy, v) {
				s.privacy = append(s.privacy, v)
			}
		}
		// Clients seeing the same purposes share one scope, so the
		// common case is one condition.
		i := slices.IndexFunc(s.scopes, func(sc catalog.Scope) bool {
			return slices.Equal(sc.Visible, vis) && slices.Equal(sc.Restricted, priv)
		})
		if i < 0 {
			s.scopes = append(s.scopes, catalog.Scope{Visible: vis, Restricted: priv})
			i = len(s.scopes) - 1
		}
		s.scopes[i].Clients = append(s.scopes[i].Clients, client)
	}
	return s
}

// clients returns the clients of the scope's view ("" for none).
func (s scope) clients() []string {
	var out []string
	for _, sc := range s.scopes {
		out = append(out, sc.Clients...)
	}
	return out
}

// callerScopes narrows the scopes to the purposes open to privacy
// officers: a caller number is a privacy officer's search key.
func (s scope) callerScopes() []catalog.Scope {
	var out []catalog.Scope
	for _, sc := range s.scopes {
		if len(sc.Restricted) > 0 {
			out = append(out, catalog.Scope{Clients: sc.Clients, Visible: sc.Restricted, Restricted: sc.Restricted})
		}
	}
	return out
}

func shared(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// caller returns the caller number as the grant may see it.
func caller(g grant, number string) (string, bool) {
	if g.privacy {
		return number, false
	}
	return config.MaskNumber(number), true
}

// record appends an audit entry for an access by p, with the client's
// address (and user agent) in its detail. It runs in its own transaction
// (the chain head is read and extended atomically) and is not cut short
// by the client going away.
func (a *API) record(r *http.Request, p *Principal, action, target, reason string, detail map[string]any) error {
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
	if err := a.record(r, p, "denied", target, reason, map[string]any{"route": r.Pattern, "why": why, "status": code}); err != nil {
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
