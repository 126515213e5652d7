package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/access"
	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// Options are what the supervisor API is built on.
type Options struct {
	Catalog *catalog.Catalog
	Store   storage.Store
	Keys    *crypt.Keyring
	// Config returns the configuration in force. Tokens, purposes and
	// their listeners are read from it at each request, so a reload
	// applies at once.
	Config func() *config.Config
	// Auth authenticates requests; nil means the bearer tokens of Config
	// (TokenAuth). An OIDC authenticator is meant to plug in here.
	Auth Authenticator
	// Calls lists, pauses and resumes calls in progress; nil answers 503.
	Calls Calls
	// Retention plans and runs purges; nil answers 503.
	Retention Retention
	// Now is the clock of retention previews; nil means time.Now.
	Now func() time.Time
	// Hold sets or releases legal holds; nil means retention.SetHold on
	// Catalog and Store.
	Hold func(ctx context.Context, req retention.HoldRequest) (int, error)
	// Ready reports whether kirokud can serve; nil means "the catalog
	// answers".
	Ready func(ctx context.Context) error
	// Contract runs contract ends; nil builds one on Catalog, Store and
	// Keys that returns by ZIP only. Give one service for the process:
	// it lets one run go at a time.
	Contract *contract.Service
	// WebhookKick wakes the webhook sender after a requeue; nil leaves
	// the events to its next poll.
	WebhookKick func()
	// Observe counts each request by route pattern and status (metrics);
	// may be nil.
	Observe func(route string, code int)
	// Listens counts listen-ins (metrics); may be nil.
	Listens ListenMetrics
	// ListenWriteWait is how long one chunk of a listen-in may take to
	// reach its listener before the listener is cut off as too slow; 0
	// means 10 s.
	ListenWriteWait time.Duration
	Log             *zap.Logger
}

// API is the supervisor HTTP API and web UI.
type API struct {
	o        Options
	contract *contract.Service
	auth     Authenticator
	tickets  *tickets
	fails    *failLimiter
	flood    *denialFlood
	mux      *http.ServeMux
	patterns []string // the routes registered, in order
	log      *zap.Logger
	// listening counts the listen-ins streaming, against
	// api.max_listeners.
	listening atomic.Int64
}

// auditTimeout bounds an audit write; it is not cut short when the client
// goes away, so a decided access is always recorded.
const auditTimeout = 10 * time.Second

// NewAPI builds the API on o. Catalog, Store, Keys and Config are
// required.
func NewAPI(o Options) (*API, error) {
	if o.Catalog == nil || o.Store == nil || o.Keys == nil || o.Config == nil {
		return nil, errors.New("httpapi: catalog, store, keys and config are required")
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.ListenWriteWait <= 0 {
		o.ListenWriteWait = listenWriteWait
	}
	a := &API{o: o, auth: o.Auth, log: o.Log, fails: newFailLimiter(20, time.Minute)}
	a.flood = newDenialFlood(denialWindow, denialBurst, a.auditSuppressed)
	if a.auth == nil {
		a.auth = TokenAuth{Config: o.Config}
	}
	if a.o.Hold == nil {
		a.o.Hold = func(ctx context.Context, req retention.HoldRequest) (int, error) {
			return retention.SetHold(ctx, o.Catalog, o.Store, req)
		}
	}
	var err error
	if a.tickets, err = newTickets(ticketTTL); err != nil {
		return nil, err
	}
	if a.contract = o.Contract; a.contract == nil {
		if a.contract, err = contract.New(contract.Options{Catalog: o.Catalog, Store: o.Store, Keys: o.Keys, Log: o.Log.Named("contract")}); err != nil {
			return nil, err
		}
	}
	a.routes()
	return a, nil
}

// routes registers every route of access's table, each under its rule
// (README.md lists them with their roles). A pattern missing from the
// table is a programming error: NewAPI panics, and a test says so.
func (a *API) routes() {
	m := http.NewServeMux()
	a.mux = m
	a.patterns = nil
	handle := func(pattern string, h http.Handler) {
		rt, ok := access.Lookup(pattern)
		if !ok {
			panic("httpapi: route " + pattern + " is not in access's route table")
		}
		a.patterns = append(a.patterns, pattern)
		m.Handle(pattern, a.observe(pattern, a.gated(rt, h)))
	}
	open := func(pattern string, h http.HandlerFunc) { handle(pattern, h) }
	authed := func(pattern string, h handler) { handle(pattern, a.authenticate(h)) }
	// Fallbacks are no routes: they answer 404 or 405 for paths that no
	// route has.
	fallback := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, a.observe(pattern, h)) }

	open("GET /healthz", a.healthz)
	open("GET /readyz", a.readyz)
	open("GET /api/v1/healthz", a.healthz)
	open("GET /api/v1/readyz", a.readyz)

	authed("GET /api/v1/me", a.me)
	authed("GET /api/v1/recordings", a.search)
	authed("GET /api/v1/recordings/export", a.export)
	authed("GET /api/v1/recordings/{id}", a.view)
	authed("POST /api/v1/recordings/{id}/audio-ticket", a.audioTicket)
	authed("GET /api/v1/recordings/{id}/waveform", a.waveform)
	authed("PUT /api/v1/recordings/{id}/hold", a.hold(true))
	authed("DELETE /api/v1/recordings/{id}/hold", a.hold(false))
	authed("GET /api/v1/recordings/{id}/notes", a.notesList) // notes.go
	authed("POST /api/v1/recordings/{id}/notes", a.noteAdd)  // notes.go
	authed("GET /api/v1/audit", a.auditList)
	authed("GET /api/v1/audit/verify", a.auditVerify)
	authed("GET /api/v1/calls", a.callsList)
	authed("POST /api/v1/calls/{id}/pause", a.pause(true))
	authed("POST /api/v1/calls/{id}/resume", a.pause(false))
	authed("GET /api/v1/calls/{id}/listen", a.listen)     // listen.go
	authed("POST /api/v1/holds", a.bulkHold)              // retention.go
	authed("GET /api/v1/retention/plan", a.retentionPlan) // retention.go
	authed("POST /api/v1/retention/purge", a.purge)       // retention.go
	// The audio route also takes a ticket (for the browser's <audio>,
	// which cannot send an Authorization header), so it authenticates
	// itself; its rule is checked all the same (a.allow).
	handle("GET /api/v1/recordings/{id}/audio", http.HandlerFunc(a.audio))
	a.requestRoutes(authed)  // requests.go
	a.contractRoutes(authed) // contract.go
	a.incidentRoutes(authed) // incident.go
	a.webhookRoutes(authed)  // webhooks.go

	fallback("/api/", a.noRoute)
	a.uiRoutes(open, fallback)
}

// noRoute answers a path no route has: 405 with Allow when the path has
// routes for other methods, else 404.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := a.mux.Handler(r2); pattern != "/api/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed here (allowed: %s)", r.Method, strings.Join(allow, ", ")))
		return
	}
	writeError(w, http.StatusNotFound, errors.New("no such API route"))
}

// ServeHTTP refuses paths that try to escape their segment before any
// route sees them, then routes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := checkPath(r); err != nil {
		a.observeCode("guard", http.StatusBadRequest)
		writeError(w, http.StatusBadRequest, err)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// checkPath refuses dot segments, empty segments, backslashes and encoded
// slashes, backslashes, dots or NULs: an id is one plain segment, and no
// path is cleaned or redirected into another route.
func checkPath(r *http.Request) error {
	raw := r.URL.EscapedPath()
	lower := strings.ToLower(raw)
	for _, bad := range []string{"%2f", "%5c", "%2e", "%00"} {
		if strings.Contains(lower, bad) {
			return errors.New("path: an encoded '/', '\\', '.' or NUL is not allowed")
		}
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return errors.New("path: must start with '/' and hold no backslash or NUL")
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return errors.New("path: '.' and '..' segments are not allowed")
		}
	}
	if strings.Contains(p, "//") {
		return errors.New("path: empty segments ('//') are not allowed")
	}
	return nil
}

// handler is a route that runs for an authenticated principal.
type handler func(w http.ResponseWriter, r *http.Request, p *Principal)

// statusWriter remembers the status a handler sent.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe counts and logs each request by its route pattern. Neither the
// query string (reasons, tickets, caller numbers) nor any header is
// logged.
func (a *API) observe(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		setSecurityHeaders(sw.Header(), r)
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		a.observeCode(pattern, sw.code)
		a.log.Debug("request", zap.String("route", pattern), zap.Int("code", sw.code),
			zap.String("client", clientIP(r)), zap.Duration("took", time.Since(start)))
	})
}

func (a *API) observeCode(route string, code int) {
	if a.o.Observe != nil {
		a.o.Observe(route, code)
	}
}

// setSecurityHeaders sets what every response carries: no caching of
// personal data, no sniffing, no framing, no referrer (audio tickets ride
// in URLs), and HSTS over TLS.
func setSecurityHeaders(h http.Header, r *http.Request) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// clientIP is the address the request came from (no port). A reverse
// proxy's X-Forwarded-For is not trusted: put none in front, or read its
// own log.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().String()
	}
	return host
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apiclient.Health{Status: "ok"})
}

// readyz answers 200 when the catalog (and so the audit log every access
// needs) answers, 503 otherwise.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	var err error
	if a.o.Ready != nil {
		err = a.o.Ready(ctx)
	} else {
		_, _, err = audit.Head(ctx, a.o.Catalog.DB())
	}
	if err != nil {
		a.log.Warn("not ready", zap.Error(err))
		writeJSON(w, http.StatusServiceUnavailable, apiclient.Health{Status: "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, apiclient.Health{Status: "ready"})
}
