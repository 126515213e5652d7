package httpapi

import (
	"context"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/access"
)

// gate is one request's passage through its route's rule: a handler
// asks access (a.allow) before it answers, and until it has, its answer
// cannot be a success (gatedWriter).
type gate struct {
	route   access.Route
	allowed bool
}

type gateKey struct{}

// gated runs h with the gate of route rt. Public routes are open from
// the start.
func (a *API) gated(rt access.Route, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := &gate{route: rt, allowed: rt.Public}
		gw := &gatedWriter{ResponseWriter: w, g: g, log: a.log}
		h.ServeHTTP(gw, r.WithContext(context.WithValue(r.Context(), gateKey{}, g)))
	})
}

// gateOf returns the gate of r's route (nil outside a gated route).
func gateOf(r *http.Request) *gate {
	g, _ := r.Context().Value(gateKey{}).(*gate)
	return g
}

// rule returns the rule of r's route.
func rule(r *http.Request) access.Rule {
	if g := gateOf(r); g != nil {
		return g.route.Rule
	}
	return access.Rule{}
}

// allow asks access whether p may call r's route. A refusal is answered
// 403 and audited as denied, with target and the reason the request
// gave; allow then returns false. Handlers call it once the request is
// known to be well formed (malformed requests are 400 and not audited,
// whoever sends them) and before they answer.
func (a *API) allow(w http.ResponseWriter, r *http.Request, p *Principal, target, reason string) bool {
	g := gateOf(r)
	if g == nil {
		a.internal(w, "access check", errors.New("httpapi: a route outside access's table"))
		return false
	}
	if d := g.route.Check(p.who()); d != nil {
		a.denyFor(w, r, p, http.StatusForbidden, target, reason, d.Why, errors.New(d.Answer))
		return false
	}
	g.allowed = true
	return true
}

// errNotAllowed ends the body of an answer that no rule allowed.
var errNotAllowed = errors.New("httpapi: answer without an access check")

// gatedWriter refuses to send a success (any status below 400) before
// the route's rule has allowed the request: a handler that forgot to
// call a.allow answers 500 and sends nothing it meant to.
type gatedWriter struct {
	http.ResponseWriter
	g       *gate
	log     *zap.Logger
	wrote   bool
	blocked bool
}

func (w *gatedWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if code < 400 && !w.g.allowed {
		w.blocked = true
		w.log.Error("answer without an access check", zap.String("route", w.g.route.Pattern), zap.Int("code", code))
		h := w.ResponseWriter.Header()
		for k := range h {
			if k != "X-Content-Type-Options" && k != "X-Frame-Options" && k != "Referrer-Policy" && k != "Cache-Control" && k != "Strict-Transport-Security" {
				h.Del(k)
			}
		}
		writeError(w.ResponseWriter, http.StatusInternalServerError, errors.New("access check missing; see kirokud's log"))
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *gatedWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.blocked {
		return 0, errNotAllowed
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *gatedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
