package sip

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// TestHostileCallerStrings: what a caller's From may carry is tamed at the
// edge. Full-width digits and hyphens, a bidi override and zero-width
// characters (escaped, as a SIP user part carries them) are stored as the
// ASCII number, so that requests by that number find the call; a 3,000
// digit caller gets 400 and a 3,000 digit dialled number 414, and neither
// leaves a manifest.
func TestHostileCallerStrings(t *testing.T) {
	for _, c := range []struct{ name, from string }{
		{"full-width digits and hyphens", "%EF%BC%90%EF%BC%93%EF%BC%8D1234%EF%BC%8D5678"},
		{"bidi override", "%E2%80%AE0312345678"},
		{"zero-width joiner inside", "0312%E2%80%8D345678"},
		{"katakana prolonged sound mark", "03%E3%83%BC1234%E3%83%BC5678"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := startServer(t, envOptions{})
			u := newUAC(t, env.udp, newRTPPeer(t).port())
			u.from = c.from
			if res := u.invite(echoLine); res.StatusCode != 200 {
				t.Fatalf("got %d %s, want 200", res.StatusCode, res.Reason)
			}
			time.Sleep(200 * time.Millisecond)
			u.inDialog("BYE", "")
			m := env.finalManifest(t)
			if m.Caller != "0312345678" {
				t.Errorf("stored caller %q, want 0312345678", m.Caller)
			}
		})
	}
	env := startServer(t, envOptions{})
	long := strings.Repeat("9", 3000)
	for _, c := range []struct {
		name, from, dialled string
		code                int
	}{
		{"3,000 digit caller", long, echoLine, 400},
		{"3,000 digit dialled number", "0312345678", long, 414},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := newUAC(t, env.udp, newRTPPeer(t).port())
			u.from = c.from
			res := u.invite(c.dialled)
			if res.StatusCode != c.code {
				t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, c.code)
			}
			if c.code == 400 {
				if w := header(res, "Warning"); !strings.Contains(w, "at most 64") {
					t.Errorf("Warning %q, want the bound named", w)
				}
			}
		})
	}
	if n := len(env.manifests(t)); n != 0 {
		t.Errorf("got %d manifests for refused calls, want 0", n)
	}
}

// TestInviteWithoutFromTag: RFC 3261 §8.1.1.3 makes the From tag
// mandatory. An INVITE without one is answered 400 with a reason naming
// the missing tag and leaves no manifest (so no row and no audit entry);
// the server takes a normal call after it.
func TestInviteWithoutFromTag(t *testing.T) {
	env := startServer(t, envOptions{})
	u := newUAC(t, env.udp, newRTPPeer(t).port())
	u.mu.Lock()
	u.callID = "notag-" + strconv.FormatUint(rand.Uint64(), 36) + "@uac"
	u.fromTag = "x"
	u.mu.Unlock()
	invite := u.request("INVITE", "sip:"+echoLine+"@"+env.udp, 1, "<sip:"+echoLine+"@"+env.udp+">", u.sdp("sendrecv"))
	invite = strings.Replace(invite, ">;tag=x\r\n", ">\r\n", 1)
	if strings.Contains(invite, "tag=") {
		t.Fatalf("request still carries a tag:\n%s", invite)
	}
	u.send(invite)
	res := u.final(1, sipmsg.INVITE)
	if res.StatusCode != 400 {
		t.Fatalf("got %d %q, want 400", res.StatusCode, res.Reason)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(env.manifests(t)); n != 0 {
		t.Errorf("got %d manifests for a refused INVITE, want 0", n)
	}
	if !strings.Contains(res.Reason, "From Tag") {
		t.Errorf("reason %q, want the missing From tag named", res.Reason)
	}
	if res := u.invite(echoLine); res.StatusCode != 200 {
		t.Fatalf("normal call after: got %d %s, want 200", res.StatusCode, res.Reason)
	}
	time.Sleep(200 * time.Millisecond)
	u.inDialog("BYE", "")
	if m := env.finalManifest(t); m.Caller != "0312345678" {
		t.Errorf("normal call's caller %q, want 0312345678", m.Caller)
	}
}
