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
	authReplayed   = "replayed"   // credentials used before: 401 stale=true
)

// nonceTTL is how long a nonce is taken. Nonces are not stored: each one
// carries its expiry, signed with the source address (see nonce).
const nonceTTL = 5 * time.Minute

// maxAuthEntries bounds the failure table, as maxSources does the rate
// limiter's.
const maxAuthEntries = 16384

// SetNonceKey makes the server sign digest nonces with key instead of the
// random key made at New, so that nodes sharing key take each other's
// nonces. Call it before Start.
func (s *Server) SetNonceKey(key []byte) {
	s.auth.key = append([]byte(nil), key...)
}

// authenticator checks digest credentials (RFC 3261 §22.4 with RFC 8760's
// SHA-256) and counts failures per user name and per source.
type authenticator struct {
	key []byte // signs nonces; new at each start, which expires old nonces

	mu    sync.Mutex
	fails map[string]*failures // "user:name" or "src:addr"
	// used holds, per nonce and client nonce, the highest nonce count
	// accepted, until the nonce expires: the same credentials sent again
	// (a captured INVITE replayed) are refused (RFC 7616 §3.3).
	used map[string]usedNonce
}

type usedNonce struct {
	nc     int
	expiry time.Time
}

// failures are one user's or source's recent failures and its lockout.
type failures struct {
	times []time.Time // within the window, oldest first
	until time.Time   // locked out until then
}

func newAuthenticator() *authenticator {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand)
	return &authenticator{key: key, fails: map[string]*failures{}, used: map[string]usedNonce{}}
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
	// The credentials sign cred.URI: they must be for this request's
	// URI, or a response captured for one target would open another
	// (RFC 7616 §3.4.6: 400).
	if !sameURI(cred.URI, req.Recipient) {
		return sipmsg.StatusBadRequest, "Digest URI Mismatch", nil
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
		if !a.use(cred, now) {
			// A replay: right credentials, already used. Not a password
			// guess, so no failure counts; the caller gets a new nonce.
			s.authOutcome(authReplayed)
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

// nonce is base64url(expiry ‖ random ‖ HMAC-SHA256(key, expiry ‖ random
// ‖ source)[:16]): only this process can make one, it is good for one
// source address (not port: a TCP caller reconnects from another) and
// until its expiry, and no two challenges share one (so the nonce counts
// that use tracks are per challenge).
func (a *authenticator) nonce(src netip.Addr, expiry time.Time) string {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, nonceHead+16), uint64(expiry.Unix()))
	b = b[:nonceHead]
	rand.Read(b[8:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(append(b, a.mac(b, src)...))
}

// nonceHead is a nonce's signed part: the expiry and 8 random bytes.
const nonceHead = 16

func (a *authenticator) mac(head []byte, src netip.Addr) []byte {
	m := hmac.New(sha256.New, a.key)
	m.Write(head)
	ip := sourceKey(src).As16()
	m.Write(ip[:])
	return m.Sum(nil)[:16]
}

// checkNonce reports whether nonce is one of ours for src, and whether
// it has not expired.
func (a *authenticator) checkNonce(nonce string, src netip.Addr, now time.Time) (signed, fresh bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != nonceHead+16 {
		return false, false
	}
	if !hmac.Equal(b[nonceHead:], a.mac(b[:nonceHead], src)) {
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

// use records that cred's nonce count was used and reports false when
// it (or a higher one) was used before with the same nonce and client
// nonce.
func (a *authenticator) use(cred *digest.Credentials, now time.Time) bool {
	key := cred.Nonce + "\x00" + cred.Cnonce
	a.mu.Lock()
	defer a.mu.Unlock()
	if u, ok := a.used[key]; ok && now.Before(u.expiry) && cred.Nc <= u.nc {
		return false
	}
	if len(a.used) >= maxAuthEntries {
		for k, u := range a.used {
			if !now.Before(u.expiry) {
				delete(a.used, k)
			}
		}
		for k := range a.used { // still full: forget the arbitrary first
			if len(a.used) < maxAuthEntries {
				break
			}
			delete(a.used, k)
		}
	}
	a.used[key] = usedNonce{nc: cred.Nc, expiry: now.Add(nonceTTL)}
	return true
}

// sameURI reports whether a digest uri names the Request-URI: same
// scheme, host and port (parameters and case of the host aside) and the
// same user when the digest uri has one. SIPp 3.6 signs the URI without
// its user part, as some older user agents do; replays are stopped by
// the nonce count (use), not by this check.
func sameURI(digestURI string, req sipmsg.Uri) bool {
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(digestURI, &u); err != nil {
		return false
	}
	port := func(x sipmsg.Uri) int {
		if x.Port != 0 {
			return x.Port
		}
		if x.IsEncrypted() {
			return 5061
		}
		return 5060
	}
	return strings.EqualFold(u.Scheme, req.Scheme) && (u.User == "" || u.User == req.User) &&
		strings.EqualFold(u.Host, req.Host) && port(u) == port(req)
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
