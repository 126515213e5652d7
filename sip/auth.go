package sip

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"net/netip"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// Outcomes of digest authentication, as the Observer is told.
const (
	authChallenged = "challenged" // a 401 to a request without credentials
	authAccepted   = "accepted"
	authFailed     = "failed"     // wrong credentials: 401 again
	authStale      = "stale"      // right credentials, expired nonce: 401 stale=true
	authLockedOut  = "locked_out" // 403 to a user or source locked out
)

// nonceTTL is how long a nonce is taken. Nonces are not stored: each one
// carries its expiry, signed with the source address (see nonce).
const nonceTTL = 5 * time.Minute

// maxAuthEntries bounds the failure table, as maxSources does the rate
// limiter's.
const maxAuthEntries = 16384

// authenticator checks digest credentials (RFC 3261 §22.4 with RFC 8760's
// SHA-256) and counts failures per user name and per source.
type authenticator struct {
	key []byte // signs nonces; new at each start, which expires old nonces

	mu    sync.Mutex
	fails map[string]*failures // "user:name" or "src:addr"
}

// failures are one user's or source's recent failures and its lockout.
type failures struct {
	times []time.Time // within the window, oldest first
	until time.Time   // locked out until then
}

func newAuthenticator() *authenticator {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand)
	return &authenticator{key: key, fails: map[string]*failures{}}
}

// authenticate checks req's Authorization against cfg's users. It returns
// 0 when the caller is authenticated, else the refusal: 401 with a
// challenge per algorithm (SHA-256 first, then MD5: RFC 8760 §2.4 orders
// them by preference), or 403 to a locked-out user or source.
func (s *Server) authenticate(req *sipmsg.Request, cfg *config.Config, src netip.Addr, now time.Time) (code int, reason string, hdrs []sipmsg.Header) {
	au, a := &cfg.SIP.Auth, s.auth
	srcKey := "src:" + sourceKey(src).String()
	if a.locked(srcKey, now) {
		s.authOutcome(authLockedOut)
		return sipmsg.StatusForbidden, "Forbidden", nil
	}
	h := req.GetHeader("Authorization")
	if h == nil {
		s.authOutcome(authChallenged)
		return sipmsg.StatusUnauthorized, "Unauthorized", a.challenges(au, src, now, false)
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return sipmsg.StatusBadRequest, "Bad Authorization", nil
	}
	userKey := "user:" + cred.Username
	if a.locked(userKey, now) {
		s.authOutcome(authLockedOut)
		return sipmsg.StatusForbidden, "Forbidden", nil
	}
	signed, fresh := a.checkNonce(cred.Nonce, src, now)
	if signed && cred.Realm == au.Realm && a.verify(cfg, cred, string(req.Method)) {
		if !fresh {
			s.authOutcome(authStale)
			return sipmsg.StatusUnauthorized, "Unauthorized", a.challenges(au, src, now, true)
		}
		a.clear(userKey, srcKey)
		s.authOutcome(authAccepted)
		return 0, "", nil
	}
	lo := au.Lockout
	lockedUser := a.fail(userKey, now, lo)
	lockedSrc := a.fail(srcKey, now, lo)
	if lockedUser || lockedSrc {
		s.authOutcome(authLockedOut)
		return sipmsg.StatusForbidden, "Forbidden", nil
	}
	s.authOutcome(authFailed)
	return sipmsg.StatusUnauthorized, "Unauthorized", a.challenges(au, src, now, false)
}

func (s *Server) authOutcome(outcome string) {
	if s.obs != nil {
		s.obs.Authenticated(outcome)
	}
}

// challenges are the WWW-Authenticate headers of a 401: one per
// algorithm some user has an HA1 for, SHA-256 first. Offering only what
// can be answered matters: a client may take the first challenge it
// reads (SIPp 3.6 does, and knows MD5 only), and with users holding MD5
// HA1s alone it then gets the MD5 one (TestAuthSIPp).
func (a *authenticator) challenges(au *config.Auth, src netip.Addr, now time.Time, stale bool) []sipmsg.Header {
	nonce := a.nonce(src, now.Add(nonceTTL))
	extra := ""
	if stale {
		extra = ", stale=true"
	}
	var sha, md bool
	for _, u := range au.Users {
		sha, md = sha || u.HA1SHA256 != "", md || u.HA1MD5 != ""
	}
	var hdrs []sipmsg.Header
	for _, alg := range []string{"SHA-256", "MD5"} {
		if alg == "SHA-256" && !sha || alg == "MD5" && !md {
			continue
		}
		hdrs = append(hdrs, sipmsg.NewHeader("WWW-Authenticate",
			fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=%s, qop="auth"%s`, au.Realm, nonce, alg, extra)))
	}
	return hdrs
}

// nonce is base64url(expiry ‖ HMAC-SHA256(key, expiry ‖ source)[:16]):
// only this process can make one, it is good for one source address
// (not port: a TCP caller reconnects from another) and until its expiry.
func (a *authenticator) nonce(src netip.Addr, expiry time.Time) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(expiry.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, a.mac(b, src)...))
}

func (a *authenticator) mac(expiry []byte, src netip.Addr) []byte {
	m := hmac.New(sha256.New, a.key)
	m.Write(expiry)
	ip := sourceKey(src).As16()
	m.Write(ip[:])
	return m.Sum(nil)[:16]
}

// checkNonce reports whether nonce is one of ours for src, and whether
// it has not expired.
func (a *authenticator) checkNonce(nonce string, src netip.Addr, now time.Time) (signed, fresh bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 8+16 {
		return false, false
	}
	if !hmac.Equal(b[8:], a.mac(b[:8], src)) {
		return false, false
	}
	return true, now.Unix() <= int64(binary.BigEndian.Uint64(b[:8]))
}

// verify recomputes the response of cred (qop=auth) from the user's HA1
// for the algorithm the caller chose.
func (a *authenticator) verify(cfg *config.Config, cred *digest.Credentials, method string) bool {
	u, ok := cfg.AuthUser(cred.Username)
	if !ok || cred.QOP != "auth" || cred.Cnonce == "" || cred.Nc < 1 || cred.Userhash {
		return false
	}
	var (
		ha1 string
		h   func() hash.Hash
	)
	switch strings.ToUpper(cred.Algorithm) {
	case "", "MD5":
		ha1, h = u.HA1MD5, md5.New
	case "SHA-256":
		ha1, h = u.HA1SHA256, sha256.New
	default:
		return false
	}
	if ha1 == "" {
		return false
	}
	want := digestResponse(h, strings.ToLower(ha1), cred.Nonce, fmt.Sprintf("%08x", cred.Nc), cred.Cnonce, cred.QOP, method, cred.URI)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(cred.Response)))
}

// digestResponse is RFC 7616's response with qop: KD(HA1, nonce:nc:cnonce:qop:H(method:uri)).
func digestResponse(h func() hash.Hash, ha1, nonce, nc, cnonce, qop, method, uri string) string {
	hx := func(s string) string {
		d := h()
		d.Write([]byte(s))
		return hex.EncodeToString(d.Sum(nil))
	}
	return hx(strings.Join([]string{ha1, nonce, nc, cnonce, qop, hx(method + ":" + uri)}, ":"))
}

// locked reports whether key is locked out at now.
func (a *authenticator) locked(key string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, ok := a.fails[key]
	return ok && now.Before(f.until)
}

// fail records a failure of key and reports whether it is now locked out.
func (a *authenticator) fail(key string, now time.Time, lo config.Lockout) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, ok := a.fails[key]
	if !ok {
		a.prune(now, time.Duration(lo.Window))
		f = &failures{}
		a.fails[key] = f
	}
	from := now.Add(-time.Duration(lo.Window))
	i := 0
	for i < len(f.times) && !f.times[i].After(from) {
		i++
	}
	f.times = append(f.times[i:], now)
	if len(f.times) >= lo.Failures {
		f.until = now.Add(time.Duration(lo.Duration))
		f.times = nil
		return true
	}
	return false
}

// clear forgets the failures of keys after a success.
func (a *authenticator) clear(keys ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		if f, ok := a.fails[k]; ok && f.until.IsZero() {
			delete(a.fails, k)
		}
	}
}

// prune makes room in a full table: first entries neither locked nor with
// a failure in the window, then (a flood of sources) any entry not locked.
// a.mu is held.
func (a *authenticator) prune(now time.Time, window time.Duration) {
	if len(a.fails) < maxAuthEntries {
		return
	}
	for k, f := range a.fails {
		if now.After(f.until) && (len(f.times) == 0 || now.Sub(f.times[len(f.times)-1]) > window) {
			delete(a.fails, k)
		}
	}
	for k, f := range a.fails {
		if len(a.fails) < maxAuthEntries {
			return
		}
		if now.After(f.until) {
			delete(a.fails, k)
		}
	}
}
