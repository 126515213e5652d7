package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
)

const (
	authUser     = "alice"
	authPassword = "correct horse"
)

func hexHash(h func() hash.Hash, s string) string {
	d := h()
	d.Write([]byte(s))
	return hex.EncodeToString(d.Sum(nil))
}

// withAuth makes the test trunk authenticate, with alice's HA1s for
// realm kiroku (the SHA-256 one unless md5Only) and a lockout after
// failures.
func withAuth(failures int, md5Only bool) func(*config.Config) {
	return func(c *config.Config) {
		c.SIP.Trunks[0].Auth = true
		ha1 := authUser + ":kiroku:" + authPassword
		u := config.AuthUser{Name: authUser, HA1MD5: hexHash(md5.New, ha1)}
		if !md5Only {
			u.HA1SHA256 = hexHash(sha256.New, ha1)
		}
		c.SIP.Auth = config.Auth{
			Realm: "kiroku",
			Users: []config.AuthUser{u},
			Lockout: config.Lockout{Failures: failures, Window: config.Duration(time.Minute),
				Duration: config.Duration(time.Minute)},
		}
	}
}

// authorization answers the challenge of res for algorithm alg with
// password, as a caller would.
func authorization(t *testing.T, res *sipmsg.Response, alg, password, uri string) string {
	t.Helper()
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		chal, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatalf("parse %q: %v", h.Value(), err)
		}
		if chal.Algorithm != alg {
			continue
		}
		newHash := map[string]func() hash.Hash{"MD5": md5.New, "SHA-256": sha256.New}[alg]
		ha1 := hexHash(newHash, authUser+":"+chal.Realm+":"+password)
		resp := digestResponse(newHash, ha1, chal.Nonce, "00000001", "0a4f113b", "auth", "INVITE", uri)
		return fmt.Sprintf(`Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s, qop=auth, nc=00000001, cnonce="0a4f113b"`,
			authUser, chal.Realm, chal.Nonce, uri, resp, alg)
	}
	t.Fatalf("no %s challenge in:\n%s", alg, res)
	return ""
}

// TestAuthChallenge: an INVITE without credentials gets 401 with a
// SHA-256 challenge, then an MD5 one (RFC 8760), and either answer
// admits the call.
func TestAuthChallenge(t *testing.T) {
	obs := newTestObserver()
	env := startServer(t, envOptions{tweak: withAuth(5, false), obs: obs})
	for _, alg := range []string{"SHA-256", "MD5"} {
		t.Run(alg, func(t *testing.T) {
			u := newUAC(t, env.udp, newRTPPeer(t).port())
			res := u.invite(echoLine)
			if res.StatusCode != 401 {
				t.Fatalf("got %d, want 401", res.StatusCode)
			}
			var algs []string
			for _, h := range res.GetHeaders("WWW-Authenticate") {
				chal, err := digest.ParseChallenge(h.Value())
				if err != nil {
					t.Fatalf("parse %q: %v", h.Value(), err)
				}
				if chal.Realm != "kiroku" || !chal.SupportsQOP("auth") || chal.Stale {
					t.Errorf("challenge %q: want realm kiroku, qop auth, not stale", h.Value())
				}
				algs = append(algs, chal.Algorithm)
			}
			if got := strings.Join(algs, ","); got != "SHA-256,MD5" {
				t.Fatalf("got challenges %s, want SHA-256,MD5", got)
			}
			uri := "sip:" + echoLine + "@" + env.udp
			res = u.invite(echoLine, authorization(t, res, alg, authPassword, uri))
			if res.StatusCode != 200 {
				t.Fatalf("with %s credentials: got %d, want 200", alg, res.StatusCode)
			}
			if bye := u.inDialog(sipmsg.BYE, ""); bye.StatusCode != 200 {
				t.Errorf("BYE: got %d, want 200", bye.StatusCode)
			}
		})
	}
	if n := obs.count("auth accepted"); n != 2 {
		t.Errorf("got %d accepted, want 2", n)
	}
}

// TestAuthLockout: wrong passwords get 401 until the lockout's count,
// then 403, even with the right password.
func TestAuthLockout(t *testing.T) {
	obs := newTestObserver()
	env := startServer(t, envOptions{tweak: withAuth(3, false), obs: obs})
	u := newUAC(t, env.udp, newRTPPeer(t).port())
	uri := "sip:" + echoLine + "@" + env.udp
	for i, want := range []int{401, 401, 403} {
		res := u.invite(echoLine)
		if res.StatusCode != 401 {
			t.Fatalf("attempt %d without credentials: got %d, want 401", i, res.StatusCode)
		}
		if got := u.invite(echoLine, authorization(t, res, "MD5", "wrong", uri)).StatusCode; got != want {
			t.Fatalf("wrong password %d: got %d, want %d", i, got, want)
		}
	}
	if got := u.invite(echoLine).StatusCode; got != 403 {
		t.Errorf("locked-out source: got %d, want 403", got)
	}
	if n := obs.count("auth failed"); n != 2 {
		t.Errorf("got %d failures counted, want 2", n)
	}
	if n := obs.count("auth locked_out"); n != 2 {
		t.Errorf("got %d lockouts counted, want 2", n)
	}
}

// TestAuthSIPp: SIPp answers the challenge with -au/-ap; a wrong
// password fails its call. SIPp 3.6 knows MD5 only and takes the first
// challenge, so the user has an MD5 HA1 alone, and only MD5 is offered.
func TestAuthSIPp(t *testing.T) {
	for _, tc := range []struct {
		name, password string
		wantExit       int
	}{
		{"right password", authPassword, 0},
		{"wrong password", "wrong", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := startServer(t, envOptions{tweak: withAuth(5, true)})
			peer := newRTPPeer(t)
			p := sipptest.Start(t, sipptest.Options{
				Scenario:  sipptest.Scenario(t, "uac_auth.xml"),
				Remote:    env.udp,
				Keys:      map[string]string{"dialled": echoLine, "caller": "0312345678", "rtp_port": strconv.Itoa(peer.port())},
				Duration:  500 * time.Millisecond,
				Timeout:   20 * time.Second,
				ExtraArgs: []string{"-au", authUser, "-ap", tc.password},
			})
			if r := p.Wait(t.Context()); r.ExitCode != tc.wantExit {
				t.Fatalf("sipp exit %d, want %d\n%s", r.ExitCode, tc.wantExit, r.Log)
			}
		})
	}
}

func TestNonce(t *testing.T) {
	a := newAuthenticator()
	t0 := time.Unix(1_800_000_000, 0)
	src := netip.MustParseAddr("192.0.2.1")
	n := a.nonce(src, t0.Add(nonceTTL))
	for _, tc := range []struct {
		name          string
		nonce         string
		src           netip.Addr
		now           time.Time
		signed, fresh bool
	}{
		{"fresh", n, src, t0, true, true},
		{"expired", n, src, t0.Add(nonceTTL + time.Second), true, false},
		{"another source", n, netip.MustParseAddr("192.0.2.2"), t0, false, false},
		{"another process", newAuthenticator().nonce(src, t0.Add(nonceTTL)), src, t0, false, false},
		{"garbage", "abc", src, t0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed, fresh := a.checkNonce(tc.nonce, tc.src, tc.now)
			if signed != tc.signed || fresh != tc.fresh {
				t.Errorf("got signed %v fresh %v, want %v %v", signed, fresh, tc.signed, tc.fresh)
			}
		})
	}
}

// TestAuthStale: the right answer to an expired nonce gets a fresh
// challenge marked stale=true and counts as no failure; a nonce made for
// another source does not authenticate.
func TestAuthStale(t *testing.T) {
	cfg := &config.Config{SIP: config.SIP{Trunks: []config.Trunk{{Name: "test"}}}}
	withAuth(1, false)(cfg)
	obs := newTestObserver()
	s := &Server{auth: newAuthenticator(), obs: obs}
	src := netip.MustParseAddr("192.0.2.1")
	t0 := time.Unix(1_800_000_000, 0)
	uri := "sip:" + echoLine + "@127.0.0.1:5060"
	challenge := func(at time.Time, from netip.Addr) *sipmsg.Response {
		code, _, hdrs := s.authenticate(inviteWith(t), cfg, from, at)
		if code != 401 {
			t.Fatalf("got %d without credentials, want 401", code)
		}
		res := sipmsg.NewResponseFromRequest(inviteWith(t), code, "Unauthorized", nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		return res
	}
	auth := authorization(t, challenge(t0, src), "SHA-256", authPassword, uri)

	code, _, hdrs := s.authenticate(inviteWith(t, auth), cfg, src, t0.Add(nonceTTL+time.Second))
	if code != 401 || len(hdrs) == 0 || !strings.Contains(hdrs[0].Value(), "stale=true") {
		t.Errorf("expired nonce: got %d %v, want 401 with stale=true", code, hdrs)
	}
	if code, _, _ := s.authenticate(inviteWith(t, auth), cfg, src, t0.Add(time.Second)); code != 0 {
		t.Errorf("fresh nonce: got %d, want accepted", code)
	}
	other := netip.MustParseAddr("192.0.2.2")
	if code, _, _ := s.authenticate(inviteWith(t, auth), cfg, other, t0.Add(time.Second)); code != 403 {
		t.Errorf("another source's nonce with lockout after 1 failure: got %d, want 403", code)
	}
	if obs.count("auth stale") != 1 || obs.count("auth failed") != 0 {
		t.Errorf("got %d stale, %d failed; want 1, 0", obs.count("auth stale"), obs.count("auth failed"))
	}
}

// TestAuthReplayAndURI: credentials sent again with the same nonce count
// (a captured INVITE replayed) get a fresh challenge, not a call, and
// count as no password failure; credentials signed for another target
// are a 400.
func TestAuthReplayAndURI(t *testing.T) {
	obs := newTestObserver()
	env := startServer(t, envOptions{tweak: withAuth(2, false), obs: obs})
	uri := "sip:" + echoLine + "@" + env.udp
	u := newUAC(t, env.udp, newRTPPeer(t).port())
	res := u.invite(echoLine)
	creds := authorization(t, res, "SHA-256", authPassword, uri)
	if res = u.invite(echoLine, creds); res.StatusCode != 200 {
		t.Fatalf("first use: got %d, want 200", res.StatusCode)
	}
	u.inDialog(sipmsg.BYE, "")
	for i := range 3 { // more than the lockout's 2: replays are not guesses
		res = u.invite(echoLine, creds)
		if res.StatusCode != 401 {
			t.Fatalf("replay %d: got %d, want 401", i, res.StatusCode)
		}
		if h := res.GetHeader("WWW-Authenticate"); h == nil || !strings.Contains(h.Value(), "stale=true") {
			t.Errorf("replay %d: got challenge %v, want stale=true", i, h)
		}
	}
	if n := obs.count("auth replayed"); n != 3 {
		t.Errorf("got %d replays counted, want 3", n)
	}
	// The same nonce with the next nonce count is a new request.
	next := strings.NewReplacer("nc=00000001", "nc=00000002").Replace(creds)
	ch, _ := digest.ParseCredentials(strings.TrimPrefix(creds, "Authorization: "))
	ha1 := hexHash(sha256.New, authUser+":kiroku:"+authPassword)
	next = strings.Replace(next, ch.Response, digestResponse(sha256.New, ha1, ch.Nonce, "00000002", ch.Cnonce, "auth", "INVITE", uri), 1)
	if res = u.invite(echoLine, next); res.StatusCode != 200 {
		t.Fatalf("next nonce count: got %d, want 200", res.StatusCode)
	}
	u.inDialog(sipmsg.BYE, "")

	for _, other := range []string{"sip:0120999999@" + env.udp, "sip:" + echoLine + "@192.0.2.1:5060", "sips:" + echoLine + "@" + env.udp} {
		res = u.invite(echoLine)
		if res = u.invite(echoLine, authorization(t, res, "SHA-256", authPassword, other)); res.StatusCode != 400 || res.Reason != "Digest URI Mismatch" {
			t.Errorf("signed for %s: got %d %s, want 400 Digest URI Mismatch", other, res.StatusCode, res.Reason)
		}
	}
	if n := obs.count("auth failed") + obs.count("auth locked_out"); n != 0 {
		t.Errorf("got %d failures counted, want none", n)
	}
}

// TestAuthAcrossNodes: behind a load balancer the authenticated retry may
// reach another node than the one that challenged; nodes sharing the
// nonce key (derived from the shared master key) take each other's
// nonces, and a node with another key does not.
func TestAuthAcrossNodes(t *testing.T) {
	shared := []byte("0123456789abcdef0123456789abcdef")
	a := startServer(t, envOptions{tweak: withAuth(5, false), nonceKey: shared})
	b := startServer(t, envOptions{tweak: withAuth(5, false), nonceKey: shared, rtpPorts: "35000-35999"})
	other := startServer(t, envOptions{tweak: withAuth(5, false), rtpPorts: "36000-36499"})
	challenge := newUAC(t, a.udp, newRTPPeer(t).port()).invite(echoLine)
	if challenge.StatusCode != 401 {
		t.Fatalf("got %d, want 401", challenge.StatusCode)
	}
	for _, tc := range []struct {
		name string
		env  *testEnv
		want int
	}{{"same key", b, 200}, {"another key", other, 401}} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUAC(t, tc.env.udp, newRTPPeer(t).port())
			uri := "sip:" + echoLine + "@" + tc.env.udp
			res := u.invite(echoLine, authorization(t, challenge, "SHA-256", authPassword, uri))
			if res.StatusCode != tc.want {
				t.Fatalf("got %d, want %d", res.StatusCode, tc.want)
			}
			if res.StatusCode == 200 {
				u.inDialog(sipmsg.BYE, "")
			}
		})
	}
}
