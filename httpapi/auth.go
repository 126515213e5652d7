package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// Principal is who an authenticated request acts for: a name (the audit
// log's actor) and roles.
type Principal struct {
	Name  string
	Roles []string
	// Clients scopes the principal to these clients' recordings and
	// calls; without clients it sees only lines run for no client.
	Clients []string
}

// Scoped reports whether p is scoped to clients.
func (p *Principal) Scoped() bool { return p.who().Scoped() }

// Has reports whether p holds role. Which role a route needs is
// access's table, not the handler's.
func (p *Principal) Has(role string) bool { return p.who().Has(role) }

// Authenticator tells who sent a request. It returns ErrNoCredentials
// when the request carries none and ErrBadCredentials (or an error
// wrapping it) when they are not accepted; both answer 401. Bearer tokens
// from the configuration are one (TokenAuth); an OIDC authenticator
// checking ID tokens is meant to be another.
type Authenticator interface {
	Authenticate(r *http.Request) (*Principal, error)
}

// Lookup finds the principal called name as the authenticator knows it
// now. Audio tickets, which outlive the request that issued them, are
// checked against it at each use, so a token removed by a reload stops
// its tickets too.
type Lookup interface {
	Principal(name string) (*Principal, bool)
}

// Errors of Authenticator.
var (
	ErrNoCredentials  = errors.New("authentication required: send Authorization: Bearer <token>")
	ErrBadCredentials = errors.New("token not accepted")
)

// maxTokenLen bounds a presented token; longer ones are refused unhashed.
const maxTokenLen = 4096

// TokenAuth authenticates bearer tokens against the SHA-256 hashes of
// api.tokens in the configuration in force.
type TokenAuth struct {
	Config func() *config.Config
}

// Authenticate hashes the presented token and compares the hash with
// every configured one in constant time.
func (t TokenAuth) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, ErrNoCredentials
	}
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || len(tok) > maxTokenLen {
		return nil, ErrBadCredentials
	}
	sum := sha256.Sum256([]byte(tok))
	var match *config.APIToken
	tokens := t.Config().API.Tokens
	for i := range tokens {
		// Every hash is compared, matched or not, so the time taken
		// does not tell which entry matched.
		if subtle.ConstantTimeCompare(sum[:], tokens[i].Hash) == 1 && match == nil {
			match = &tokens[i]
		}
	}
	if match == nil {
		return nil, ErrBadCredentials
	}
	return &Principal{Name: match.Name, Roles: slices.Clone(match.Roles), Clients: slices.Clone(match.Clients)}, nil
}

// Principal returns the token called name with its current roles.
func (t TokenAuth) Principal(name string) (*Principal, bool) {
	for _, tok := range t.Config().API.Tokens {
		if tok.Name == name {
			return &Principal{Name: tok.Name, Roles: slices.Clone(tok.Roles), Clients: slices.Clone(tok.Clients)}, true
		}
	}
	return nil, false
}

// authenticate runs h for the request's principal, or answers 401 (429
// after too many failures from one address).
func (a *API) authenticate(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := a.principal(w, r)
		if ok {
			h(w, r, p)
		}
	})
}

// principal authenticates r by its bearer token; on failure it answers
// and returns false.
func (a *API) principal(w http.ResponseWriter, r *http.Request) (*Principal, bool) {
	ip := clientIP(r)
	if wait := a.fails.blocked(ip, time.Now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, errors.New("too many failed authentications from this address; try later"))
		return nil, false
	}
	p, err := a.auth.Authenticate(r)
	if err != nil {
		a.unauthorized(w, r, err)
		return nil, false
	}
	return p, true
}

// unauthorized answers 401. The presented credentials are never logged,
// only that they failed and from where.
func (a *API) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	ip := clientIP(r)
	challenge := `Bearer realm="kiroku"`
	if !errors.Is(err, ErrNoCredentials) {
		a.fails.fail(ip, time.Now())
		challenge += `, error="invalid_token"`
		a.log.Warn("authentication failed", zap.String("client", ip), zap.String("path", r.URL.Path), zap.Error(err))
		err = ErrBadCredentials
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, err)
}

// failLimiter counts failed authentications per client address in a
// window and blocks an address that reaches max until the window ends.
// Tokens are 256-bit random, so this is about log noise and load, not
// guessing.
type failLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	m      map[string]*failCount
}

type failCount struct {
	n     int
	since time.Time
}

// maxTracked bounds the addresses the limiter remembers.
const maxTracked = 10000

func newFailLimiter(max int, window time.Duration) *failLimiter {
	return &failLimiter{max: max, window: window, m: map[string]*failCount{}}
}

// blocked returns how long ip is still blocked (0: not blocked).
func (l *failLimiter) blocked(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.m[ip]
	if !ok || f.n < l.max {
		return 0
	}
	if left := f.since.Add(l.window).Sub(now); left > 0 {
		return left
	}
	delete(l.m, ip)
	return 0
}

// fail counts a failure from ip.
func (l *failLimiter) fail(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.m[ip]
	if !ok || now.Sub(f.since) > l.window {
		if len(l.m) >= maxTracked {
			for k, v := range l.m {
				if now.Sub(v.since) > l.window {
					delete(l.m, k)
				}
			}
			if len(l.m) >= maxTracked {
				clear(l.m)
			}
		}
		l.m[ip] = &failCount{n: 1, since: now}
		return
	}
	f.n++
}
