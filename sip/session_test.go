package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// inviteWith is an INVITE carrying hdrs ("Name: value"), parsed by sipgo.
func inviteWith(t testing.TB, hdrs ...string) *sipmsg.Request {
	t.Helper()
	raw := request("INVITE", echoLine+"@127.0.0.1:5060", "127.0.0.1:5999", nil, goodSDP)
	head, body, _ := strings.Cut(raw, "\r\n\r\n")
	for _, h := range hdrs {
		head += "\r\n" + h
	}
	m, err := sipmsg.ParseMessage([]byte(head + "\r\n\r\n" + body))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*sipmsg.Request)
}

func TestNegotiateSession(t *testing.T) {
	const want, minSE = 1800 * time.Second, 90 * time.Second
	for _, tc := range []struct {
		name     string
		hdrs     []string
		terms    sessionTerms
		tooSmall bool
		err      bool
	}{
		{"no timer: we refresh at our interval", nil, sessionTerms{want, refresherUAS, false}, false, false},
		{"supported without Session-Expires: the caller refreshes", []string{"Supported: timer"}, sessionTerms{want, refresherUAC, true}, false, false},
		{"shorter interval kept", []string{"Supported: 100rel, timer", "Session-Expires: 600"}, sessionTerms{600 * time.Second, refresherUAC, true}, false, false},
		{"longer interval cut to ours", []string{"k: timer", "x: 7200;refresher=uac"}, sessionTerms{want, refresherUAC, true}, false, false},
		{"cut no lower than the caller's Min-SE", []string{"Supported: timer", "Session-Expires: 7200", "Min-SE: 3600"}, sessionTerms{3600 * time.Second, refresherUAC, true}, false, false},
		{"refresher=uas asked for", []string{"Supported: timer", "Session-Expires: 900;refresher=UAS"}, sessionTerms{900 * time.Second, refresherUAS, true}, false, false},
		{"unsupported caller: we refresh whatever it asked", []string{"Session-Expires: 900;refresher=uac"}, sessionTerms{900 * time.Second, refresherUAS, false}, false, false},
		{"at our minimum", []string{"Session-Expires: 90"}, sessionTerms{90 * time.Second, refresherUAS, false}, false, false},
		{"below our minimum: 422", []string{"Supported: timer", "Session-Expires: 89"}, sessionTerms{}, true, false},
		{"zero", []string{"Session-Expires: 0"}, sessionTerms{}, false, true},
		{"not a number", []string{"Session-Expires: soon"}, sessionTerms{}, false, true},
		{"too big", []string{"Session-Expires: 99999999999"}, sessionTerms{}, false, true},
		{"bad refresher", []string{"Session-Expires: 900;refresher=both"}, sessionTerms{}, false, true},
		{"bad Min-SE", []string{"Min-SE: -1"}, sessionTerms{}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			terms, tooSmall, err := negotiateSession(inviteWith(t, tc.hdrs...), want, minSE)
			if (err != nil) != tc.err || tooSmall != tc.tooSmall {
				t.Fatalf("got tooSmall %v, error %v; want %v, error %v", tooSmall, err, tc.tooSmall, tc.err)
			}
			if !tc.err && !tc.tooSmall && terms != tc.terms {
				t.Errorf("got %+v, want %+v", terms, tc.terms)
			}
		})
	}
}

// withSession sets session timers below RFC 4028's floor of 90 s, so
// that the tests run in seconds.
func withSession(interval, minSE time.Duration, more ...func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		c.SIP.SessionExpires, c.SIP.MinSE = config.Duration(interval), config.Duration(minSE)
		for _, f := range more {
			f(c)
		}
	}
}

func header(m interface{ GetHeader(string) sipmsg.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// TestSessionIntervalTooSmall: an INVITE asking for less than sip.min_se
// gets 422 with our Min-SE; one at or above it is answered with the
// terms (RFC 4028 §9); a malformed one gets 400.
func TestSessionIntervalTooSmall(t *testing.T) {
	env := startServer(t, envOptions{notice: 200 * time.Millisecond})
	for _, tc := range []struct {
		name    string
		hdrs    []string
		code    int
		headers map[string]string
	}{
		{"below min_se", []string{"Supported: timer", "Session-Expires: 60"}, 422, map[string]string{"Min-SE": "90"}},
		{"malformed", []string{"Session-Expires: 60;refresher=nobody"}, 400, nil},
		{"accepted, caller refreshes", []string{"Supported: timer", "Session-Expires: 120;refresher=uac"}, 200,
			map[string]string{"Session-Expires": "120;refresher=uac", "Require": "timer"}},
		{"accepted, we refresh", nil, 200, map[string]string{"Session-Expires": "1800;refresher=uas", "Require": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUAC(t, env.udp, newRTPPeer(t).port())
			res := u.invite(echoLine, tc.hdrs...)
			if res.StatusCode != tc.code {
				t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, tc.code)
			}
			for k, v := range tc.headers {
				if got := header(res, k); got != v {
					t.Errorf("got %s %q, want %q", k, got, v)
				}
			}
			if res.IsSuccess() {
				u.inDialog(sipmsg.BYE, "")
			}
		})
	}
	waitFor(t, "calls to end", 5*time.Second, func() bool { return env.srv.ActiveCalls() == 0 })
	if n := len(env.manifests(t)); n != 2 {
		t.Errorf("got %d manifests, want 2 (refused calls leave none)", n)
	}
}

// TestSessionRefreshMissed: the caller took the refresher role and never
// refreshed: both legs get BYE before the session would expire
// (RFC 4028 §10), and the manifest says why the call ended.
func TestSessionRefreshMissed(t *testing.T) {
	const interval = 3 * time.Second
	ap := newRTPPeer(t)
	ag := sippAgent(t, "uas.xml", ap, 0)
	env := startServer(t, envOptions{notice: 200 * time.Millisecond, optOutWait: "100ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()), tweak: withSession(interval, time.Second)})
	u := newUAC(t, env.udp, newRTPPeer(t).port())
	res := u.invite(agentLine, "Supported: timer", "Session-Expires: 3;refresher=uac")
	if res.StatusCode != 200 || header(res, "Session-Expires") != "3;refresher=uac" {
		t.Fatalf("got %d with Session-Expires %q, want 200 with 3;refresher=uac", res.StatusCode, header(res, "Session-Expires"))
	}
	answered := time.Now()
	u.waitRequests(sipmsg.BYE, 1, 10*time.Second)
	// BYE at the interval less a third of it.
	if d := time.Since(answered); d < interval*2/3 {
		t.Errorf("got BYE %v after the answer, want at least %v", d, interval*2/3)
	}
	mustSucceed(t, ag)
	if m := env.finalManifest(t); m.EndReason != endSessionExpired {
		t.Errorf("got end reason %q, want %q", m.EndReason, endSessionExpired)
	}
}

// TestSessionRefreshedByCaller: refreshes by UPDATE and by re-INVITE each
// re-arm the timer, so the call outlives its first interval.
func TestSessionRefreshedByCaller(t *testing.T) {
	const interval = 3 * time.Second
	env := startServer(t, envOptions{notice: 200 * time.Millisecond, tweak: withSession(interval, 2*time.Second)})
	u := newUAC(t, env.udp, newRTPPeer(t).port())
	if res := u.invite(noOptOut, "Supported: timer", "Session-Expires: 3;refresher=uac"); res.StatusCode != 200 {
		t.Fatalf("got %d, want 200", res.StatusCode)
	}
	start := time.Now()
	for i, method := range []sipmsg.RequestMethod{sipmsg.UPDATE, sipmsg.INVITE, sipmsg.UPDATE} {
		time.Sleep(1200 * time.Millisecond)
		body := ""
		if method == sipmsg.INVITE {
			body = u.sdp("sendrecv")
		}
		res := u.inDialog(method, body, "Supported: timer", "Session-Expires: 3;refresher=uac")
		if res.StatusCode != 200 || header(res, "Session-Expires") != "3;refresher=uac" || header(res, "Require") != "timer" {
			t.Fatalf("refresh %d by %s: got %d with Session-Expires %q, Require %q", i, method, res.StatusCode,
				header(res, "Session-Expires"), header(res, "Require"))
		}
	}
	if time.Since(start) < interval || len(u.requests(sipmsg.BYE)) > 0 {
		t.Fatal("want the call up past its first interval")
	}
	if res := u.inDialog(sipmsg.UPDATE, "", "Supported: timer", "Session-Expires: 1"); res.StatusCode != 422 || header(res, "Min-SE") != "2" {
		t.Errorf("refresh below Min-SE: got %d, Min-SE %q, want 422 with Min-SE 2", res.StatusCode, header(res, "Min-SE"))
	}
	u.inDialog(sipmsg.BYE, "")
	if m := env.finalManifest(t); m.EndReason != endCallerHangup {
		t.Errorf("got end reason %q, want %q", m.EndReason, endCallerHangup)
	}
}

// TestSessionRefreshedByUs: a caller without timer support leaves the
// refresher role to Kiroku, which refreshes halfway through each interval
// (UPDATE when the caller allows it, else re-INVITE), and ends the call
// when a refresh goes unanswered until the session expires.
func TestSessionRefreshedByUs(t *testing.T) {
	const interval = 2 * time.Second
	for _, tc := range []struct {
		name   string
		method sipmsg.RequestMethod
		hdrs   []string
	}{
		{"re-INVITE", sipmsg.INVITE, nil},
		{"UPDATE", sipmsg.UPDATE, []string{"Allow: INVITE, ACK, BYE, CANCEL, UPDATE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := startServer(t, envOptions{notice: 200 * time.Millisecond, tweak: withSession(interval, time.Second)})
			u := newUAC(t, env.udp, newRTPPeer(t).port())
			res := u.invite(noOptOut, tc.hdrs...)
			if res.StatusCode != 200 || header(res, "Session-Expires") != "2;refresher=uas" {
				t.Fatalf("got %d with Session-Expires %q, want 200 with 2;refresher=uas", res.StatusCode, header(res, "Session-Expires"))
			}
			answered := time.Now()
			refreshes := u.waitRequests(tc.method, 2, 10*time.Second)
			for _, r := range refreshes {
				if got := header(r, "Session-Expires"); got != "2;refresher=uas" {
					t.Errorf("refresh carries Session-Expires %q, want 2;refresher=uas", got)
				}
			}
			u.ignoreRequests(tc.method)
			u.waitRequests(sipmsg.BYE, 1, 10*time.Second)
			if d := time.Since(answered); d < 2*interval {
				t.Errorf("got BYE %v after the answer, want the answered refreshes to keep it past %v", d, 2*interval)
			}
			if m := env.finalManifest(t); m.EndReason != endSessionExpired {
				t.Errorf("got end reason %q, want %q", m.EndReason, endSessionExpired)
			}
		})
	}
}
